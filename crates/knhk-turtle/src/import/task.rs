//! Reading a task: kind, join and split codes in both spellings, parameters, mappings,
//! multiple-instance attributes, timer, partial join, trigger, thread counts, and the
//! raw cancellation members (resolved once the net's flows are known).

use std::collections::HashMap;

use knhk_model::{
    CreationMode, DataType, JoinCode, Mapping, MultipleInstance, Parameter, PartialJoin,
    PartialJoinMode, Remainder, SplitCode, Task, TaskKind, Timer, TimerAction, TimerTrigger,
    Trigger,
};
use oxrdf::Term;

use super::Importer;
use crate::error::{ImportWarning, TurtleError};
use crate::graph::{Graph, Node, as_node, node_name, show_term};
use crate::values::{
    self, COUNT, choice, flag, keyword, lexical, number, one, resource, resources, string,
};
use crate::vocab as v;

/// The control codes shared by joins and splits.
#[derive(Clone, Copy)]
enum Code {
    And,
    Xor,
    Or,
}

/// A raw cancellation member: its triple's index (for order) and the resource named.
pub(super) type Member = (usize, Node);

impl Importer<'_> {
    pub(super) fn read_task(&self, node: &Node) -> Result<(Task, Vec<Member>), TurtleError> {
        let graph = self.graph;
        let iri = node_name(node);
        let types = graph.types(node);
        let decomposes = one(graph, node, &[v::DECOMPOSES_TO])?;
        let kind = if types.contains(&v::EMPTY_TASK) {
            TaskKind::Empty
        } else if types.contains(&v::COMPOSITE_TASK) || decomposes.is_some() {
            TaskKind::Composite
        } else {
            TaskKind::Atomic
        };
        let net = match decomposes {
            Some((_, Term::Literal(literal))) => Some(literal.value().to_owned()),
            Some((property, term)) => {
                let target = as_node(term).and_then(|n| self.net_ids.get(&n));
                Some(target.cloned().ok_or_else(|| {
                    TurtleError::UnknownNet {
                        found: show_term(term).trim_matches(['<', '>']).to_owned(),
                    }
                    .at(&iri, property)
                })?)
            }
            None => None,
        };
        let join = control(graph, node, &[v::JOIN, v::HAS_JOIN, v::HAS_JOIN_TYPE])?;
        let split = control(graph, node, &[v::SPLIT, v::HAS_SPLIT, v::HAS_SPLIT_TYPE])?;
        let label = string(graph, node, &[v::TASK_NAME, v::RDFS_LABEL, v::NAME])?;
        let task = Task {
            id: self.places[node].id.clone(),
            name: self.element_name(node, label),
            kind,
            join: match join {
                Some(Code::And) => JoinCode::And,
                Some(Code::Xor) | None => JoinCode::Xor,
                Some(Code::Or) => JoinCode::Or,
            },
            split: match split {
                Some(Code::And) | None => SplitCode::And,
                Some(Code::Xor) => SplitCode::Xor,
                Some(Code::Or) => SplitCode::Or,
            },
            net,
            service: string(graph, node, &[v::SERVICE])?,
            inputs: parameters(graph, node, v::HAS_INPUT_PARAMETER)?,
            outputs: parameters(graph, node, v::HAS_OUTPUT_PARAMETER)?,
            input_mappings: mappings(graph, node, v::HAS_STARTING_MAPPING)?,
            output_mappings: mappings(graph, node, v::HAS_COMPLETED_MAPPING)?,
            multiple_instance: multiple_instance(graph, node, &types)?,
            cancellation_set: Vec::new(),
            timer: timer(graph, node)?,
            partial_join: partial_join(graph, node)?,
            trigger: trigger(graph, node)?,
            thread_merge: number(graph, node, &[v::THREAD_MERGE], COUNT)?,
            thread_split: number(graph, node, &[v::THREAD_SPLIT], COUNT)?,
            mappings_only: flag(graph, node, &[v::MAPPINGS_ONLY])?.unwrap_or(false),
        };
        Ok((task, cancellation_members(graph, node)?))
    }

    /// Resolves cancellation members to ids of the task's net: an element is its id; a
    /// flow (YAWL's `removesTokensFromFlow`) is the condition it passes through, the
    /// implicit `c{from_to}` between two tasks. Anything else is left out with a warning.
    pub(super) fn cancellation_set(
        &self,
        net: usize,
        task: &Node,
        mut members: Vec<Member>,
        flow_places: &HashMap<Node, String>,
    ) -> Vec<String> {
        members.sort_by_key(|(index, _)| *index);
        let mut set = Vec::new();
        for (_, member) in members {
            let id = match self.places.get(&member) {
                Some(place) if place.net == net => Some(place.id.clone()),
                _ => flow_places.get(&member).cloned(),
            };
            match id {
                Some(id) if !set.contains(&id) => set.push(id),
                Some(_) => {}
                None => self.graph.warn(ImportWarning::UnknownCancellationMember {
                    task: node_name(task),
                    member: node_name(&member),
                }),
            }
        }
        set
    }
}

/// A join or split code: a literal or IRI (`"AND"`, `yawl:ControlTypeXor`, `yawl:AND`,
/// `yawl:XorSplit`), or a blank node typed with one (`[ a yawl:ControlTypeOr ]`).
fn control(graph: &Graph, node: &Node, properties: &[&str]) -> Result<Option<Code>, TurtleError> {
    let Some((property, term)) = one(graph, node, properties)? else {
        return Ok(None);
    };
    let code = match term {
        Term::BlankNode(blank) => {
            let blank: Node = blank.clone().into();
            graph.claim(&blank);
            graph.types(&blank).into_iter().find_map(|class| {
                let class = Term::NamedNode(oxrdf::NamedNode::new_unchecked(class));
                keyword(&class).and_then(|k| code(&k))
            })
        }
        other => keyword(other).and_then(|k| code(&k)),
    };
    code.map(Some).ok_or_else(|| {
        TurtleError::BadValue {
            value: show_term(term),
            expected: "a control type (AND, XOR, OR)",
        }
        .at(&node_name(node), property)
    })
}

fn code(keyword: &str) -> Option<Code> {
    let keyword = keyword.strip_prefix("controltype").unwrap_or(keyword);
    let keyword = ["split", "join", "type"]
        .iter()
        .find_map(|suffix| keyword.strip_suffix(suffix))
        .unwrap_or(keyword);
    match keyword {
        "and" => Some(Code::And),
        "xor" => Some(Code::Xor),
        "or" => Some(Code::Or),
        _ => None,
    }
}

/// A data type: knhk's names (`string`, `number`, `integer`, `boolean`, `object`,
/// `array`, `any`) and the XSD names the examples use (`decimal`, `xsd:int`, ...), as a
/// literal or an IRI. An unknown type is read as `any`, with a warning.
pub(super) fn data_type(
    graph: &Graph,
    node: &Node,
    properties: &[&str],
) -> Result<Option<DataType>, TurtleError> {
    let Some((property, term)) = one(graph, node, properties)? else {
        return Ok(None);
    };
    let text = match term {
        Term::Literal(literal) => literal.value(),
        Term::NamedNode(iri) => iri.as_str(),
        Term::BlankNode(_) => {
            return Err(TurtleError::NotLiteral {
                found: show_term(term),
            }
            .at(&node_name(node), property));
        }
    };
    let name = values::local_name(text).to_ascii_lowercase();
    let data_type = match name.as_str() {
        "any" | "anytype" | "anysimpletype" => Some(DataType::Any),
        "string" | "normalizedstring" | "token" | "anyuri" | "date" | "datetime" | "time"
        | "duration" => Some(DataType::String),
        "number" | "decimal" | "double" | "float" => Some(DataType::Number),
        "integer" | "int" | "long" | "short" | "byte" | "nonnegativeinteger"
        | "positiveinteger" | "negativeinteger" | "nonpositiveinteger" | "unsignedlong"
        | "unsignedint" | "unsignedshort" | "unsignedbyte" => Some(DataType::Integer),
        "boolean" | "bool" => Some(DataType::Boolean),
        "object" | "map" => Some(DataType::Object),
        "array" | "list" => Some(DataType::Array),
        _ => None,
    };
    Ok(Some(data_type.unwrap_or_else(|| {
        graph.warn(ImportWarning::Ignored {
            subject: node_name(node),
            property: property.to_owned(),
            value: show_term(term),
            reason: "not a known data type: read as `any`",
        });
        DataType::Any
    })))
}

fn parameters(graph: &Graph, task: &Node, property: &str) -> Result<Vec<Parameter>, TurtleError> {
    let iri = node_name(task);
    let mut found = Vec::new();
    for (_, _, node) in resources(graph, task, &[property])? {
        graph.claim(&node);
        let read = || -> Result<Parameter, TurtleError> {
            let name = string(graph, &node, &[v::PARAM_NAME, v::NAME])?
                .ok_or_else(|| TurtleError::Missing.at(&node_name(&node), v::PARAM_NAME))?;
            Ok(Parameter {
                name,
                data_type: data_type(graph, &node, &[v::PARAM_TYPE])?.unwrap_or_default(),
                optional: flag(graph, &node, &[v::OPTIONAL])?.unwrap_or(false),
            })
        };
        found.push(read().map_err(|e| e.at(&iri, property))?);
    }
    Ok(found)
}

fn mappings(graph: &Graph, task: &Node, property: &str) -> Result<Vec<Mapping>, TurtleError> {
    let iri = node_name(task);
    let mut found = Vec::new();
    for (_, _, node) in resources(graph, task, &[property])? {
        graph.claim(&node);
        let subject = node_name(&node);
        let read = || -> Result<Mapping, TurtleError> {
            let to = string(graph, &node, &[v::MAPS_TO])?
                .ok_or_else(|| TurtleError::Missing.at(&subject, v::MAPS_TO))?;
            let expression = string(graph, &node, &[v::EXPRESSION, v::QUERY])?
                .ok_or_else(|| TurtleError::Missing.at(&subject, v::EXPRESSION))?;
            Ok(Mapping { to, expression })
        };
        found.push(read().map_err(|e| e.at(&iri, property))?);
    }
    Ok(found)
}

const MI_PROPERTIES: [&str; 10] = [
    v::MIN_INSTANCES,
    v::MAX_INSTANCES,
    v::THRESHOLD,
    v::CREATION_MODE,
    v::MULTIPLE_INSTANCE_TYPE,
    v::SPLITTING_EXPRESSION,
    v::MI_ITEM,
    v::MI_COMPLETION,
    v::MI_REMAINDER,
    v::MI_AGGREGATE,
];

/// Multiple-instance attributes, for a `yawl:MultipleInstanceTask` or a task with any
/// of them. `minInstances` defaults to 1 (YAWL's default); `maxInstances` and
/// `threshold` may be `"unbounded"`. `creationMode` decides the creation mode, else
/// `multipleInstanceType`. Without `knhk:remainder`, threshold 0 (no synchronisation,
/// WCP 12) means the remaining instances continue, and any other threshold that they
/// are cancelled.
fn multiple_instance(
    graph: &Graph,
    task: &Node,
    types: &[&str],
) -> Result<Option<MultipleInstance>, TurtleError> {
    if !types.contains(&v::MULTIPLE_INSTANCE_TASK) && !graph.has_any(task, &MI_PROPERTIES) {
        return Ok(None);
    }
    let creation_mode = |property: &str| {
        choice(
            graph,
            task,
            &[property],
            "a creation mode (static, dynamic)",
            |k| match k {
                "static" => Some(CreationMode::Static),
                "dynamic" => Some(CreationMode::Dynamic),
                _ => None,
            },
        )
    };
    let creation = creation_mode(v::CREATION_MODE)?;
    let instance_type = creation_mode(v::MULTIPLE_INSTANCE_TYPE)?;
    if let (Some(creation), Some(other)) = (creation, instance_type)
        && creation != other
    {
        graph.warn(ImportWarning::Ignored {
            subject: node_name(task),
            property: v::MULTIPLE_INSTANCE_TYPE.to_owned(),
            value: format!("{other:?}").to_lowercase(),
            reason: "yawl:creationMode decides the creation mode",
        });
    }
    let threshold = bound(graph, task, v::THRESHOLD)?;
    let remainder = choice(
        graph,
        task,
        &[v::MI_REMAINDER],
        "a remainder (cancel, continue)",
        |k| match k {
            "cancel" => Some(Remainder::Cancel),
            "continue" => Some(Remainder::Continue),
            _ => None,
        },
    )?
    .unwrap_or(if threshold == Some(0) {
        Remainder::Continue
    } else {
        Remainder::Cancel
    });
    Ok(Some(MultipleInstance {
        min: number(graph, task, &[v::MIN_INSTANCES], COUNT)?.unwrap_or(1),
        max: bound(graph, task, v::MAX_INSTANCES)?,
        threshold,
        creation: creation.or(instance_type).unwrap_or_default(),
        split: string(graph, task, &[v::SPLITTING_EXPRESSION])?,
        item: string(graph, task, &[v::MI_ITEM])?,
        completion: string(graph, task, &[v::MI_COMPLETION])?,
        remainder,
        aggregate: string(graph, task, &[v::MI_AGGREGATE])?,
    }))
}

/// A count that may be `"unbounded"` (absent).
fn bound(graph: &Graph, task: &Node, property: &str) -> Result<Option<u32>, TurtleError> {
    if let Some((_, term)) = one(graph, task, &[property])?
        && keyword(term).is_some_and(|k| k == "unbounded" || k == "infinite")
    {
        return Ok(None);
    }
    number(
        graph,
        task,
        &[property],
        "a whole number from 0 to 4294967295, or \"unbounded\"",
    )
}

/// `knhk:timer [ ... ]`, or YAWL's `yawl:timeout "30s"`: a timer started when the work
/// item is enabled, completing it on expiry (YAWL's behaviour).
fn timer(graph: &Graph, task: &Node) -> Result<Option<Timer>, TurtleError> {
    let iri = node_name(task);
    let timeout = one(graph, task, &[v::TIMEOUT])?;
    if let Some((property, node)) = resource(graph, task, &[v::TIMER])? {
        if let Some((_, term)) = timeout {
            graph.warn(ImportWarning::Ignored {
                subject: iri.clone(),
                property: v::TIMEOUT.to_owned(),
                value: show_term(term),
                reason: "knhk:timer gives the timer",
            });
        }
        graph.claim(&node);
        let read = || -> Result<Timer, TurtleError> {
            let trigger = choice(
                graph,
                &node,
                &[v::TIMER_STARTS],
                "a timer start (on_enabled, on_executing)",
                |k| match k {
                    "onenabled" => Some(TimerTrigger::OnEnabled),
                    "onexecuting" => Some(TimerTrigger::OnExecuting),
                    _ => None,
                },
            )?
            .ok_or_else(|| TurtleError::Missing.at(&node_name(&node), v::TIMER_STARTS))?;
            let on_expiry = choice(
                graph,
                &node,
                &[v::ON_EXPIRY],
                "a timer action (complete, fail)",
                |k| match k {
                    "complete" => Some(TimerAction::Complete),
                    "fail" => Some(TimerAction::Fail),
                    _ => None,
                },
            )?;
            Ok(Timer {
                trigger,
                duration_ms: number(graph, &node, &[v::DURATION_MS], MILLIS)?,
                expiry_ms: number(graph, &node, &[v::EXPIRY_MS], MILLIS)?,
                on_expiry: on_expiry.unwrap_or_default(),
            })
        };
        return read().map(Some).map_err(|e| e.at(&iri, property));
    }
    let Some((property, term)) = timeout else {
        return Ok(None);
    };
    let text = lexical(task, property, term)?;
    let duration_ms = duration_ms(text).ok_or_else(|| {
        TurtleError::BadValue {
            value: show_term(term),
            expected: "a duration (\"30s\", \"500ms\", \"5min\", \"2h\", \"1d\", \"PT30S\")",
        }
        .at(&iri, property)
    })?;
    Ok(Some(Timer {
        trigger: TimerTrigger::OnEnabled,
        duration_ms: Some(duration_ms),
        expiry_ms: None,
        on_expiry: TimerAction::Complete,
    }))
}

const MILLIS: &str = "a whole number of milliseconds";

/// Milliseconds in a duration written `<number><unit>` (units `ms`, `s`, `sec`, `m`,
/// `min`, `h`, `d`) or as an ISO 8601 / `xsd:duration` without years or months
/// (`PT30S`, `P1DT2H`).
pub(super) fn duration_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    let millis = if let Some(iso) = text.strip_prefix('P') {
        iso_duration_ms(iso)?
    } else {
        let split = text.find(|c: char| c.is_ascii_alphabetic())?;
        let (amount, unit) = text.split_at(split);
        let amount: f64 = amount.trim().parse().ok()?;
        amount * unit_ms(unit.trim())?
    };
    // A duration beyond 2^53 ms (285,000 years) is not a timer anyone means.
    (millis.is_finite() && (0.0..9.007_199_254_740_992e15).contains(&millis))
        .then(|| millis.round() as u64)
}

fn unit_ms(unit: &str) -> Option<f64> {
    Some(match unit {
        "ms" => 1.0,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000.0,
        "h" | "hour" | "hours" => 3_600_000.0,
        "d" | "day" | "days" => 86_400_000.0,
        _ => return None,
    })
}

fn iso_duration_ms(iso: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut in_time = false;
    let mut amount = String::new();
    let mut any = false;
    for c in iso.chars() {
        match c {
            'T' if !in_time && amount.is_empty() => in_time = true,
            '0'..='9' | '.' => amount.push(c),
            _ => {
                let value: f64 = amount.parse().ok()?;
                amount.clear();
                let unit = match (c, in_time) {
                    ('W', false) => 7.0 * 86_400_000.0,
                    ('D', false) => 86_400_000.0,
                    ('H', true) => 3_600_000.0,
                    ('M', true) => 60_000.0,
                    ('S', true) => 1_000.0,
                    _ => return None,
                };
                total += value * unit;
                any = true;
            }
        }
    }
    (any && amount.is_empty()).then_some(total)
}

fn partial_join(graph: &Graph, task: &Node) -> Result<Option<PartialJoin>, TurtleError> {
    let Some((property, node)) = resource(graph, task, &[v::PARTIAL_JOIN])? else {
        return Ok(None);
    };
    graph.claim(&node);
    let read = || -> Result<PartialJoin, TurtleError> {
        let required = number(graph, &node, &[v::REQUIRED], COUNT)?
            .ok_or_else(|| TurtleError::Missing.at(&node_name(&node), v::REQUIRED))?;
        let mode = choice(
            graph,
            &node,
            &[v::MODE],
            "a partial join mode (blocking, cancelling)",
            |k| match k {
                "blocking" => Some(PartialJoinMode::Blocking),
                "cancelling" | "canceling" => Some(PartialJoinMode::Cancelling),
                _ => None,
            },
        )?;
        Ok(PartialJoin {
            required,
            mode: mode.unwrap_or_default(),
        })
    };
    read()
        .map(Some)
        .map_err(|e| e.at(&node_name(task), property))
}

fn trigger(graph: &Graph, task: &Node) -> Result<Option<Trigger>, TurtleError> {
    let Some((property, node)) = resource(graph, task, &[v::TRIGGER])? else {
        return Ok(None);
    };
    graph.claim(&node);
    let read = || -> Result<Trigger, TurtleError> {
        let signal = string(graph, &node, &[v::SIGNAL])?
            .ok_or_else(|| TurtleError::Missing.at(&node_name(&node), v::SIGNAL))?;
        Ok(Trigger {
            signal,
            persistent: flag(graph, &node, &[v::PERSISTENT])?.unwrap_or(false),
        })
    };
    read()
        .map(Some)
        .map_err(|e| e.at(&node_name(task), property))
}

/// The resources a task cancels: members of its `yawl:cancellationRegion`s, and YAWL's
/// `removesTokens` / `removesTokensFromFlow` given on the task itself.
fn cancellation_members(graph: &Graph, task: &Node) -> Result<Vec<Member>, TurtleError> {
    let mut members: Vec<Member> = Vec::new();
    let direct = [v::CANCELS, v::REMOVES_TOKENS, v::REMOVES_TOKENS_FROM_FLOW];
    for (index, _, member) in resources(graph, task, &direct)? {
        members.push((index, member));
    }
    for (_, property, region) in resources(graph, task, &[v::CANCELLATION_REGION])? {
        graph.claim(&region);
        let inner = resources(graph, &region, &[v::CANCELS])
            .map_err(|e| e.at(&node_name(task), property))?;
        for (index, _, member) in inner {
            members.push((index, member));
        }
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_ms("30s"), Some(30_000));
        assert_eq!(duration_ms("500ms"), Some(500));
        assert_eq!(duration_ms("1.5 min"), Some(90_000));
        assert_eq!(duration_ms("2h"), Some(7_200_000));
        assert_eq!(duration_ms("1d"), Some(86_400_000));
        assert_eq!(duration_ms("PT30S"), Some(30_000));
        assert_eq!(duration_ms("P1DT2H"), Some(93_600_000));
        assert_eq!(duration_ms("PT0.5S"), Some(500));
        assert_eq!(duration_ms("P1M"), None);
        assert_eq!(duration_ms("30"), None);
        assert_eq!(duration_ms("soon"), None);
        assert_eq!(duration_ms("-5s"), None);
    }

    #[test]
    fn control_codes_in_every_spelling() {
        for (keyword, expected) in [
            ("controltypexor", "xor"),
            ("and", "and"),
            ("orsplit", "or"),
            ("andjoin", "and"),
            ("xortype", "xor"),
        ] {
            let found = match code(keyword) {
                Some(Code::And) => "and",
                Some(Code::Xor) => "xor",
                Some(Code::Or) => "or",
                None => "none",
            };
            assert_eq!(found, expected, "{keyword}");
        }
        assert!(code("nand").is_none());
    }
}
