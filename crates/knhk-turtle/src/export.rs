//! Model to Turtle: writes every field of a [`Specification`] so that importing the text
//! gives the same specification back.
//!
//! What makes the round trip exact:
//! - every specification, net, condition and task carries its id as `knhk:id`, so ids
//!   never depend on IRIs, and an element with `knhk:id` keeps its name as written;
//! - lists are written in model order, as object lists or in document order, which is
//!   the order the import reads them in;
//! - optional attributes are written exactly when they are present, and defaults the
//!   import would infer differently are written out (an MI remainder, for instance);
//! - variable initial values are `rdf:JSON` literals.
//!
//! IRIs are minted under `http://knhk.dev/spec/{spec id}/` (the document's `@base`):
//! `<{net}>` for a net, `<{net}/{element}>` for a condition or task, `<{net}/{from}/{to}>`
//! for a flow, each id percent-encoded as one path segment. The layout is fixed, so
//! writing is deterministic.

use std::fmt::Write as _;

use knhk_model::{
    CreationMode, DataType, JoinCode, MultipleInstance, Net, PartialJoinMode, Remainder,
    Specification, SplitCode, Task, TaskKind, Termination, TimerAction, TimerTrigger,
    implicit_condition_id,
};

use crate::vocab::{self as v, PREFIXES};

/// Where exported IRIs live.
pub(crate) const BASE: &str = "http://knhk.dev/spec/";

/// Writes `spec` as Turtle. See the module documentation.
pub(crate) fn export(spec: &Specification) -> String {
    let mut out = String::new();
    for (prefix, namespace) in PREFIXES {
        if prefix != "xsd" && prefix != "rdfs" {
            let _ = writeln!(out, "@prefix {prefix}: <{namespace}> .");
        }
    }
    let _ = writeln!(out, "@base <{BASE}{}/> .", segment(&spec.id));

    let mut block = Block::new("<>", &[v::SPECIFICATION]);
    block.literal(v::ID, &spec.id);
    block.optional(v::SPEC_NAME, spec.name.as_deref());
    block.optional(v::VERSION, spec.version.as_deref());
    block.optional(v::DOCUMENTATION, spec.documentation.as_deref());
    block.objects(
        v::HAS_DECOMPOSITION,
        spec.nets.iter().map(|n| net_iri(&n.id)),
    );
    block.write(&mut out);

    for net in &spec.nets {
        write_net(&mut out, net, net.id == spec.root_net);
    }
    out
}

fn write_net(out: &mut String, net: &Net, root: bool) {
    let mut block = Block::new(&net_iri(&net.id), &[v::NET]);
    block.literal(v::ID, &net.id);
    if root {
        block.raw(v::IS_ROOT_NET, "true".to_owned());
    }
    let element = |id: &str| element_iri(&net.id, id);
    block.objects(v::HAS_INPUT_CONDITION, [element(&net.input_condition.id)]);
    block.objects(v::HAS_OUTPUT_CONDITION, [element(&net.output_condition.id)]);
    block.objects(
        v::HAS_CONDITION,
        net.conditions.iter().map(|c| element(&c.id)),
    );
    block.objects(v::HAS_TASK, net.tasks.iter().map(|t| element(&t.id)));
    block.objects(
        v::HAS_FLOW,
        net.flows.iter().map(|f| flow_iri(&net.id, &f.from, &f.to)),
    );
    let variables = net.variables.iter().map(|variable| {
        let mut properties = vec![(v::VAR_NAME, string(&variable.name))];
        if variable.data_type != DataType::Any {
            properties.push((v::VAR_TYPE, string(data_type(variable.data_type))));
        }
        if let Some(initial) = &variable.initial {
            properties.push((v::INITIAL_VALUE, json(initial)));
        }
        blank(&properties)
    });
    block.objects(v::HAS_LOCAL_VARIABLE, variables);
    if net.termination == Termination::Implicit {
        block.literal(v::TERMINATION, "implicit");
    }
    block.write(out);

    let conditions = [
        (&net.input_condition, v::INPUT_CONDITION),
        (&net.output_condition, v::OUTPUT_CONDITION),
    ]
    .into_iter()
    .chain(net.conditions.iter().map(|c| (c, v::CONDITION)));
    for (condition, class) in conditions {
        let mut block = Block::new(&element(&condition.id), &[class]);
        block.literal(v::ID, &condition.id);
        block.optional(v::CONDITION_NAME, condition.name.as_deref());
        block.write(out);
    }
    for task in &net.tasks {
        write_task(out, net, task);
    }
    for flow in &net.flows {
        let mut block = Block::new(&flow_iri(&net.id, &flow.from, &flow.to), &[v::FLOW]);
        block.objects(v::FLOWS_FROM, [element(&flow.from)]);
        block.objects(v::FLOWS_INTO, [element(&flow.to)]);
        block.optional(v::PREDICATE, flow.predicate.as_deref());
        if let Some(ordering) = flow.ordering {
            block.raw(v::ORDERING, ordering.to_string());
        }
        if flow.default {
            block.raw(v::IS_DEFAULT_FLOW, "true".to_owned());
        }
        block.write(out);
    }
}

fn write_task(out: &mut String, net: &Net, task: &Task) {
    let mut classes = match task.kind {
        TaskKind::Empty => vec![v::TASK, v::EMPTY_TASK],
        TaskKind::Atomic => vec![v::ATOMIC_TASK],
        TaskKind::Composite => vec![v::COMPOSITE_TASK],
    };
    if task.multiple_instance.is_some() {
        classes.push(v::MULTIPLE_INSTANCE_TASK);
    }
    let mut block = Block::new(&element_iri(&net.id, &task.id), &classes);
    block.literal(v::ID, &task.id);
    block.optional(v::TASK_NAME, task.name.as_deref());
    let join = match task.join {
        JoinCode::And => v::CONTROL_TYPE_AND,
        JoinCode::Xor => v::CONTROL_TYPE_XOR,
        JoinCode::Or => v::CONTROL_TYPE_OR,
    };
    let split = match task.split {
        SplitCode::And => v::CONTROL_TYPE_AND,
        SplitCode::Xor => v::CONTROL_TYPE_XOR,
        SplitCode::Or => v::CONTROL_TYPE_OR,
    };
    block.raw(v::JOIN, name(join));
    block.raw(v::SPLIT, name(split));
    if let Some(subnet) = &task.net {
        block.raw(v::DECOMPOSES_TO, net_iri(subnet));
    }
    block.optional(v::SERVICE, task.service.as_deref());
    write_data(&mut block, task);
    if let Some(mi) = &task.multiple_instance {
        write_multiple_instance(&mut block, mi);
    }
    if !task.cancellation_set.is_empty() {
        let members = task
            .cancellation_set
            .iter()
            .map(|member| cancellation_iri(net, member))
            .collect::<Vec<_>>()
            .join(",\n            ");
        block.raw(
            v::CANCELLATION_REGION,
            format!("[ {} {members} ]", name(v::CANCELS)),
        );
    }
    write_extensions(&mut block, task);
    block.write(out);
}

/// A task's parameters and mappings.
fn write_data(block: &mut Block, task: &Task) {
    for (property, parameters) in [
        (v::HAS_INPUT_PARAMETER, &task.inputs),
        (v::HAS_OUTPUT_PARAMETER, &task.outputs),
    ] {
        let parameters = parameters.iter().map(|parameter| {
            let mut properties = vec![(v::PARAM_NAME, string(&parameter.name))];
            if parameter.data_type != DataType::Any {
                properties.push((v::PARAM_TYPE, string(data_type(parameter.data_type))));
            }
            if parameter.optional {
                properties.push((v::OPTIONAL, "true".to_owned()));
            }
            blank(&properties)
        });
        block.objects(property, parameters);
    }
    for (property, mappings) in [
        (v::HAS_STARTING_MAPPING, &task.input_mappings),
        (v::HAS_COMPLETED_MAPPING, &task.output_mappings),
    ] {
        let mappings = mappings.iter().map(|mapping| {
            blank(&[
                (v::MAPS_TO, string(&mapping.to)),
                (v::EXPRESSION, string(&mapping.expression)),
            ])
        });
        block.objects(property, mappings);
    }
}

/// knhk's own task attributes: timer, partial join, trigger, thread counts.
fn write_extensions(block: &mut Block, task: &Task) {
    if let Some(timer) = &task.timer {
        let starts = match timer.trigger {
            TimerTrigger::OnEnabled => "on_enabled",
            TimerTrigger::OnExecuting => "on_executing",
        };
        let mut properties = vec![(v::TIMER_STARTS, string(starts))];
        if let Some(ms) = timer.duration_ms {
            properties.push((v::DURATION_MS, ms.to_string()));
        }
        if let Some(ms) = timer.expiry_ms {
            properties.push((v::EXPIRY_MS, ms.to_string()));
        }
        if timer.on_expiry == TimerAction::Fail {
            properties.push((v::ON_EXPIRY, string("fail")));
        }
        block.raw(v::TIMER, blank(&properties));
    }
    if let Some(partial) = &task.partial_join {
        let mut properties = vec![(v::REQUIRED, partial.required.to_string())];
        if partial.mode == PartialJoinMode::Cancelling {
            properties.push((v::MODE, string("cancelling")));
        }
        block.raw(v::PARTIAL_JOIN, blank(&properties));
    }
    if let Some(trigger) = &task.trigger {
        let mut properties = vec![(v::SIGNAL, string(&trigger.signal))];
        if trigger.persistent {
            properties.push((v::PERSISTENT, "true".to_owned()));
        }
        block.raw(v::TRIGGER, blank(&properties));
    }
    if let Some(count) = task.thread_merge {
        block.raw(v::THREAD_MERGE, count.to_string());
    }
    if let Some(count) = task.thread_split {
        block.raw(v::THREAD_SPLIT, count.to_string());
    }
    if task.mappings_only {
        block.raw(v::MAPPINGS_ONLY, "true".to_owned());
    }
}

fn write_multiple_instance(block: &mut Block, mi: &MultipleInstance) {
    block.raw(v::MIN_INSTANCES, mi.min.to_string());
    if let Some(max) = mi.max {
        block.raw(v::MAX_INSTANCES, max.to_string());
    }
    if let Some(threshold) = mi.threshold {
        block.raw(v::THRESHOLD, threshold.to_string());
    }
    if mi.creation == CreationMode::Dynamic {
        block.literal(v::CREATION_MODE, "dynamic");
    }
    block.optional(v::SPLITTING_EXPRESSION, mi.split.as_deref());
    block.optional(v::MI_ITEM, mi.item.as_deref());
    block.optional(v::MI_COMPLETION, mi.completion.as_deref());
    // The import infers `continue` for threshold 0 and `cancel` otherwise.
    let inferred = if mi.threshold == Some(0) {
        Remainder::Continue
    } else {
        Remainder::Cancel
    };
    if mi.remainder != inferred {
        let remainder = match mi.remainder {
            Remainder::Cancel => "cancel",
            Remainder::Continue => "continue",
        };
        block.literal(v::MI_REMAINDER, remainder);
    }
    block.optional(v::MI_AGGREGATE, mi.aggregate.as_deref());
}

/// A cancellation member: an element of the net, or the flow whose implicit condition
/// it names (YAWL's `removesTokensFromFlow`).
fn cancellation_iri(net: &Net, member: &str) -> String {
    let is_element =
        net.all_conditions().any(|c| c.id == member) || net.tasks.iter().any(|t| t.id == member);
    if !is_element {
        let is_task = |id: &str| net.tasks.iter().any(|t| t.id == id);
        let flow = net.flows.iter().find(|f| {
            is_task(&f.from) && is_task(&f.to) && implicit_condition_id(&f.from, &f.to) == member
        });
        if let Some(flow) = flow {
            return flow_iri(&net.id, &flow.from, &flow.to);
        }
    }
    // An element, or (in an invalid specification) a name that is neither: the import
    // reports the latter as an unknown member.
    element_iri(&net.id, member)
}

fn data_type(data_type: DataType) -> &'static str {
    match data_type {
        DataType::Any => "any",
        DataType::String => "string",
        DataType::Number => "number",
        DataType::Integer => "integer",
        DataType::Boolean => "boolean",
        DataType::Object => "object",
        DataType::Array => "array",
    }
}

/// The subject of one resource's description and its properties, written as
/// `subject a classes ; property object ; ... .`
struct Block {
    subject: String,
    properties: Vec<(String, String)>,
}

impl Block {
    fn new(subject: &str, classes: &[&str]) -> Block {
        let classes = classes
            .iter()
            .map(|c| name(c))
            .collect::<Vec<_>>()
            .join(", ");
        Block {
            subject: subject.to_owned(),
            properties: vec![("a".to_owned(), classes)],
        }
    }

    fn raw(&mut self, property: &str, object: String) {
        self.properties.push((name(property), object));
    }

    fn literal(&mut self, property: &str, value: &str) {
        self.raw(property, string(value));
    }

    fn optional(&mut self, property: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.literal(property, value);
        }
    }

    /// An object list, one object per line; nothing when there are none.
    fn objects(&mut self, property: &str, objects: impl IntoIterator<Item = String>) {
        let objects: Vec<String> = objects.into_iter().collect();
        if !objects.is_empty() {
            self.raw(property, objects.join(",\n        "));
        }
    }

    /// Writes the block: the subject and its classes on the first line, then one
    /// property per line.
    fn write(self, out: &mut String) {
        let count = self.properties.len();
        for (index, (property, object)) in self.properties.into_iter().enumerate() {
            let end = if index + 1 == count { " ." } else { " ;" };
            if index == 0 {
                let _ = write!(out, "\n{} {property} {object}{end}", self.subject);
            } else {
                let _ = write!(out, "\n    {property} {object}{end}");
            }
        }
        out.push('\n');
    }
}

/// A blank node with its properties on one line.
fn blank(properties: &[(&str, String)]) -> String {
    let inner = properties
        .iter()
        .map(|(property, object)| format!("{} {object}", name(property)))
        .collect::<Vec<_>>()
        .join(" ; ");
    format!("[ {inner} ]")
}

/// A term's name in the written text: `prefix:local` (every term this crate writes is
/// in a declared namespace).
fn name(iri: &str) -> String {
    crate::vocab::abbreviate(iri)
}

/// A JSON value as an `rdf:JSON` literal.
fn json(value: &serde_json::Value) -> String {
    format!("{}^^rdf:JSON", string(&value.to_string()))
}

/// A Turtle string literal: quotes, backslashes and control characters escaped.
fn string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn net_iri(net: &str) -> String {
    format!("<{}>", segment(net))
}

fn element_iri(net: &str, element: &str) -> String {
    format!("<{}/{}>", segment(net), segment(element))
}

fn flow_iri(net: &str, from: &str, to: &str) -> String {
    format!("<{}/{}/{}>", segment(net), segment(from), segment(to))
}

/// An id as one IRI path segment. Letters, digits, `-`, `.` and `_` stay; every other
/// byte is percent-encoded (`~` included, so that `~` alone can stand for the empty id);
/// an id of dots only is encoded whole, so that it is not read as `.` or `..`.
fn segment(id: &str) -> String {
    if id.is_empty() {
        return "~".to_owned();
    }
    let dots = id.bytes().all(|b| b == b'.');
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if !dots && (byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_')) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_injective_and_safe() {
        assert_eq!(segment("receive_order"), "receive_order");
        assert_eq!(segment("c{a_b}"), "c%7Ba_b%7D");
        assert_eq!(segment(""), "~");
        assert_eq!(segment("~"), "%7E");
        assert_eq!(segment(".."), "%2E%2E");
        assert_eq!(segment("a/b"), "a%2Fb");
        assert_eq!(segment("é"), "%C3%A9");
    }

    #[test]
    fn strings_escape_what_turtle_needs() {
        assert_eq!(
            string("a \"b\" \\ c\nd\u{7}"),
            "\"a \\\"b\\\" \\\\ c\\nd\\u0007\""
        );
    }
}
