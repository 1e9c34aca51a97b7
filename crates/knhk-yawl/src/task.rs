//! Tasks: join and split codes, what the task does (its decomposition), flows with
//! translated predicates, cancellation sets, data mappings, multiple-instance
//! attributes and timers.
//!
//! A task without `decomposesTo` is an empty routing task, as in YAWL. A task that
//! decomposes to a net is composite; one that decomposes to a
//! `WebServiceGatewayFactsType` is atomic, with or without a service and parameters:
//! YAWL offers a work item for it either way (its own tests start and complete work
//! items of such tasks).

use std::collections::BTreeSet;

use knhk_model::{
    CreationMode, Flow, JoinCode, Mapping, MultipleInstance, SplitCode, Task, TaskKind, Timer,
    TimerTrigger, implicit_condition_id,
};
use roxmltree::Node;

use crate::duration;
use crate::import::{Importer, var_infos};
use crate::net::RawFlow;
use crate::xml::{self, Xml};
use crate::xpath::{self, Object, Root, Scope, Vars, XPathError};
use crate::{Fallback, FlowRef, ImportWarning, Site, TimerIssue, YawlError};

/// What a task's decomposition says it does.
struct Work {
    kind: TaskKind,
    net: Option<String>,
    service: Option<String>,
    inputs: Vec<knhk_model::Parameter>,
    outputs: Vec<knhk_model::Parameter>,
    /// The decomposition's id: the document name of the task's output data.
    decomposition: Option<String>,
    /// The fields of the task's output data.
    output_vars: Vars,
}

/// Where a task sits, for translation and messages.
struct Place<'s> {
    net: &'s str,
    task: &'s str,
    vars: &'s Vars,
}

impl<'a, 'i> Importer<'a, 'i> {
    /// Reads a task and its outgoing flows.
    pub(crate) fn task(
        &mut self,
        node: Node<'a, 'i>,
        net: &str,
        vars: &Vars,
        raw: Vec<RawFlow<'a, 'i>>,
    ) -> Result<(Task, Vec<Flow>), YawlError> {
        let xml = self.xml;
        let id = xml.attribute(node, "id")?.to_owned();
        let place = Place {
            net,
            task: &id,
            vars,
        };
        let join = match code(xml, node, "join")? {
            "and" => JoinCode::And,
            "or" => JoinCode::Or,
            _ => JoinCode::Xor,
        };
        let split = match code(xml, node, "split")? {
            "xor" => SplitCode::Xor,
            "or" => SplitCode::Or,
            _ => SplitCode::And,
        };
        let work = self.work(node, &id)?;
        let flows = self.flows(&place, split, raw)?;
        let multiple_instance =
            if xml::xsi_type(node) == Some("MultipleInstanceExternalTaskFactsType") {
                Some(self.multiple_instance(node, &place, &work)?)
            } else {
                None
            };
        let item = multiple_instance
            .as_ref()
            .and_then(|(mi, _)| mi.item.clone());
        let (input_mappings, mut output_mappings) = self.mappings(node, &place, &work, item)?;
        let multiple_instance = multiple_instance.map(|(mi, output)| {
            output_mappings.extend(output);
            mi
        });
        let task = Task {
            name: xml.child_text(node, "name").map(|n| n.trim().to_owned()),
            kind: work.kind,
            join,
            split,
            net: work.net,
            service: work.service,
            inputs: work.inputs,
            outputs: work.outputs,
            input_mappings,
            output_mappings,
            multiple_instance,
            cancellation_set: self.cancellation_set(node)?,
            timer: self.timer(node, &place, work.kind)?,
            partial_join: None,
            trigger: None,
            thread_merge: None,
            thread_split: None,
            // YAWL moves data by mappings only: a task or subnet without them sees
            // nothing of the net's data and gives nothing back.
            mappings_only: work.kind != TaskKind::Empty,
            id,
        };
        Ok((task, flows))
    }

    /// The task's decomposition: nothing (empty), a net (composite) or work (atomic).
    fn work(&mut self, node: Node<'a, 'i>, task: &str) -> Result<Work, YawlError> {
        let xml = self.xml;
        let Some(target) = xml.child(node, "decomposesTo") else {
            return Ok(Work {
                kind: TaskKind::Empty,
                net: None,
                service: None,
                inputs: Vec::new(),
                outputs: Vec::new(),
                decomposition: None,
                output_vars: Vars::new(),
            });
        };
        let id = xml.attribute(target, "id")?;
        let decomposition = *self.decompositions.get(id).ok_or_else(|| {
            xml.at(
                target,
                YawlError::UnknownDecomposition {
                    task: task.to_owned(),
                    decomposition: id.to_owned(),
                },
            )
        })?;
        self.used.insert(id.to_owned());
        let d = decomposition.node;
        if decomposition.is_net {
            return Ok(Work {
                kind: TaskKind::Composite,
                net: Some(id.to_owned()),
                service: None,
                inputs: Vec::new(),
                outputs: Vec::new(),
                decomposition: Some(id.to_owned()),
                output_vars: var_infos(&self.net_variables(d)?),
            });
        }
        let service = xml
            .child(d, "yawlService")
            .and_then(|s| s.attribute("id"))
            .map(str::to_owned)
            .or_else(|| xml.child_text(d, "codelet").map(|c| c.trim().to_owned()));
        Ok(Work {
            kind: TaskKind::Atomic,
            net: None,
            service,
            inputs: self.parameters(d, "inputParam")?,
            outputs: self.parameters(d, "outputParam")?,
            decomposition: Some(id.to_owned()),
            output_vars: var_infos(&self.declared(d, "outputParam")?),
        })
    }

    /// The task's flows, with predicates translated.
    fn flows(
        &mut self,
        place: &Place<'_>,
        split: SplitCode,
        raw: Vec<RawFlow<'a, 'i>>,
    ) -> Result<Vec<Flow>, YawlError> {
        let scope = net_scope(place, None);
        let single = raw.len() == 1;
        let mut flows = Vec::with_capacity(raw.len());
        for f in raw {
            let predicate = match f.predicate {
                None => None,
                Some((text, at)) => match xpath::predicate(&text, &scope) {
                    Ok(cel) => Some(cel),
                    Err(reason) => {
                        // YAWL takes an XOR split's default flow without evaluating its
                        // predicate, so an untranslatable one there changes nothing.
                        let unevaluated = split == SplitCode::Xor && (f.default || single);
                        let fallback = if unevaluated {
                            Fallback::Dropped
                        } else {
                            Fallback::Marker
                        };
                        let flow = FlowRef {
                            from: place.task.to_owned(),
                            to: f.to.clone(),
                        };
                        self.untranslated(
                            at,
                            place.net,
                            place.task,
                            Some(flow),
                            Site::Predicate,
                            &text,
                            reason,
                            fallback,
                        )?
                    }
                },
            };
            flows.push(Flow {
                from: place.task.to_owned(),
                to: f.to,
                predicate,
                ordering: f.ordering,
                default: f.default,
            });
        }
        Ok(flows)
    }

    /// `removesTokens` (conditions and tasks by id) and `removesTokensFromFlow` (the
    /// implicit condition of a task-to-task arc), each member once: YAWL's is a set, and
    /// so is the model's (a member named twice, by both elements say, is one member).
    fn cancellation_set(&self, node: Node<'a, 'i>) -> Result<Vec<String>, YawlError> {
        let xml = self.xml;
        let mut set = Vec::new();
        let mut seen = BTreeSet::new();
        let mut add = |member: String| {
            if seen.insert(member.clone()) {
                set.push(member);
            }
        };
        for member in xml.children(node, "removesTokens") {
            add(xml.attribute(member, "id")?.to_owned());
        }
        for flow in xml.children(node, "removesTokensFromFlow") {
            let source = xml.attribute(xml.require(flow, "flowSource")?, "id")?;
            let target = xml.attribute(xml.require(flow, "flowDestination")?, "id")?;
            add(implicit_condition_id(source, target));
        }
        Ok(set)
    }

    /// Starting mappings (to the work's input) and completed mappings (to net
    /// variables), translated.
    fn mappings(
        &mut self,
        node: Node<'a, 'i>,
        place: &Place<'_>,
        work: &Work,
        item: Option<String>,
    ) -> Result<(Vec<Mapping>, Vec<Mapping>), YawlError> {
        let input_scope = net_scope(place, item);
        let output_scope = output_scope(work, "output");
        let mut sets = [Vec::new(), Vec::new()];
        for (i, set) in ["startingMappings", "completedMappings"]
            .into_iter()
            .enumerate()
        {
            for (query, to, at) in self.read_mappings(node, set)? {
                if work.kind == TaskKind::Empty {
                    self.warnings.push(ImportWarning::MappingWithoutWork {
                        line: self.xml.line(at),
                        net: place.net.to_owned(),
                        task: place.task.to_owned(),
                        to,
                    });
                    continue;
                }
                let (scope, site) = if i == 0 {
                    (&input_scope, Site::InputMapping { to: to.clone() })
                } else {
                    (&output_scope, Site::OutputMapping { to: to.clone() })
                };
                let expression = match xpath::mapping(&query, scope) {
                    Ok((cel, _)) => Some(cel),
                    Err(reason) => self.untranslated(
                        at,
                        place.net,
                        place.task,
                        None,
                        site,
                        &query,
                        reason,
                        Fallback::Marker,
                    )?,
                };
                if let Some(expression) = expression {
                    sets[i].push(Mapping { to, expression });
                }
            }
        }
        let [input, output] = sets;
        Ok((input, output))
    }

    /// The `(query, mapsTo, element)` of each mapping in a mapping set.
    fn read_mappings(
        &self,
        node: Node<'a, 'i>,
        set: &'static str,
    ) -> Result<Vec<(String, String, Node<'a, 'i>)>, YawlError> {
        let xml = self.xml;
        let Some(set) = xml.child(node, set) else {
            return Ok(Vec::new());
        };
        xml.children(set, "mapping")
            .map(|mapping| {
                let expression = xml.require(mapping, "expression")?;
                let query = xml.attribute(expression, "query")?.to_owned();
                let to = xml::text(xml.require(mapping, "mapsTo")?).trim().to_owned();
                Ok((query, to, mapping))
            })
            .collect()
    }

    /// The MI attributes, and the output mapping that `miDataOutput` becomes.
    fn multiple_instance(
        &mut self,
        node: Node<'a, 'i>,
        place: &Place<'_>,
        work: &Work,
    ) -> Result<(MultipleInstance, Option<Mapping>), YawlError> {
        let xml = self.xml;
        let min = self.bound(node, place, "minimum")?.unwrap_or(1);
        let max = self.bound(node, place, "maximum")?;
        let threshold = self.bound(node, place, "threshold")?;
        let creation = match xml.child(node, "creationMode") {
            None => CreationMode::Static,
            Some(mode) => match xml.attribute(mode, "code")? {
                "static" => CreationMode::Static,
                "dynamic" => CreationMode::Dynamic,
                other => {
                    return Err(xml.at(
                        mode,
                        YawlError::BadValue {
                            value: other.to_owned(),
                            expected: "`static` or `dynamic`",
                        },
                    ));
                }
            },
        };
        let (split, item) = self.mi_input(node, place)?;
        let (output, aggregate) = self.mi_output(node, place, work)?;
        let mi = MultipleInstance {
            min,
            max,
            threshold,
            creation,
            split,
            item,
            completion: None,
            remainder: knhk_model::Remainder::Cancel,
            aggregate,
        };
        Ok((mi, output))
    }

    /// `minimum`, `maximum` or `threshold`: a number, or a query (not translated).
    fn bound(
        &mut self,
        node: Node<'a, 'i>,
        place: &Place<'_>,
        bound: &'static str,
    ) -> Result<Option<u32>, YawlError> {
        let Some(element) = self.xml.child(node, bound) else {
            return Ok(None);
        };
        let text = xml::text(element);
        if let Ok(n) = text.trim().parse::<u32>() {
            return Ok(Some(n));
        }
        self.untranslated(
            element,
            place.net,
            place.task,
            None,
            Site::MiBound { bound },
            &text,
            XPathError::Unsupported {
                construct: "a query as a multiple-instance bound".to_owned(),
            },
            Fallback::Default,
        )?;
        Ok(None)
    }

    /// `miDataInput`: the split expression and the item's name.
    fn mi_input(
        &mut self,
        node: Node<'a, 'i>,
        place: &Place<'_>,
    ) -> Result<(Option<String>, Option<String>), YawlError> {
        let xml = self.xml;
        let Some(input) = xml.child(node, "miDataInput") else {
            return Ok((None, None));
        };
        let item = xml
            .child_text(input, "formalInputParam")
            .map(|p| p.trim().to_owned());
        let expression = xml.attribute(xml.require(input, "expression")?, "query")?;
        let splitting = xml.attribute(xml.require(input, "splittingExpression")?, "query")?;
        let scope = net_scope(place, None);
        let split = match xpath::split(expression, splitting, &scope) {
            Ok(cel) => Some(cel),
            Err(reason) => {
                let text = format!("{expression} | {splitting}");
                self.untranslated(
                    input,
                    place.net,
                    place.task,
                    None,
                    Site::MiSplit,
                    &text,
                    reason,
                    Fallback::Marker,
                )?
            }
        };
        Ok((split, item))
    }

    /// `miDataOutput`: an output mapping to the result variable, or (lenient, when
    /// untranslatable) the raw outputs as the aggregate.
    fn mi_output(
        &mut self,
        node: Node<'a, 'i>,
        place: &Place<'_>,
        work: &Work,
    ) -> Result<(Option<Mapping>, Option<String>), YawlError> {
        let xml = self.xml;
        let Some(output) = xml.child(node, "miDataOutput") else {
            return Ok((None, None));
        };
        let formal = xml.attribute(xml.require(output, "formalOutputExpression")?, "query")?;
        let joining = xml.attribute(xml.require(output, "outputJoiningExpression")?, "query")?;
        let variable = xml
            .child_text(output, "resultAppliedToLocalVariable")
            .map(|v| v.trim().to_owned())
            .ok_or_else(|| {
                xml.at(
                    output,
                    YawlError::MissingElement {
                        parent: "miDataOutput".to_owned(),
                        child: "resultAppliedToLocalVariable",
                    },
                )
            })?;
        let instance = output_scope(work, "o");
        let roots = root_names(work.decomposition.as_deref());
        match xpath::mi_output(formal, joining, &instance, roots) {
            Ok(expression) => Ok((
                Some(Mapping {
                    to: variable,
                    expression,
                }),
                None,
            )),
            Err(reason) => {
                self.untranslated(
                    output,
                    place.net,
                    place.task,
                    None,
                    Site::MiOutput {
                        variable: variable.clone(),
                    },
                    &format!("{formal} | {joining}"),
                    reason,
                    Fallback::RawAggregate,
                )?;
                Ok((None, Some(variable)))
            }
        }
    }

    /// The task's timer, in milliseconds.
    fn timer(
        &mut self,
        node: Node<'a, 'i>,
        place: &Place<'_>,
        kind: TaskKind,
    ) -> Result<Option<Timer>, YawlError> {
        let xml = self.xml;
        let Some(timer) = xml.child(node, "timer") else {
            return Ok(None);
        };
        let warn = |importer: &mut Self, issue| {
            importer.warnings.push(ImportWarning::Timer {
                line: xml.line(timer),
                net: place.net.to_owned(),
                task: place.task.to_owned(),
                issue,
            });
        };
        if kind == TaskKind::Empty {
            warn(self, TimerIssue::EmptyTask);
            return Ok(None);
        }
        if xml.child(timer, "netparam").is_some() {
            warn(self, TimerIssue::NetParam);
            return Ok(None);
        }
        let trigger_node = xml.require(timer, "trigger")?;
        let trigger = match xml::text(trigger_node).trim() {
            "OnEnabled" => TimerTrigger::OnEnabled,
            "OnExecuting" => TimerTrigger::OnExecuting,
            other => {
                return Err(bad(
                    xml,
                    trigger_node,
                    other,
                    "`OnEnabled` or `OnExecuting`",
                ));
            }
        };
        let mut result = Timer {
            trigger,
            duration_ms: None,
            expiry_ms: None,
            on_expiry: knhk_model::TimerAction::Complete,
        };
        let millis = if let Some(expiry) = xml.child(timer, "expiry") {
            let text = xml::text(expiry);
            let ms = text
                .trim()
                .parse::<u64>()
                .map_err(|_| bad(xml, expiry, &text, "milliseconds since the epoch"))?;
            result.expiry_ms = Some(ms);
            None
        } else if let Some(element) = xml.child(timer, "duration") {
            let text = xml::text(element);
            Some(duration::parse(&text).ok_or_else(|| bad(xml, element, &text, "an xs:duration"))?)
        } else if let Some(params) = xml.child(timer, "durationparams") {
            let ticks = xml.child_text(params, "ticks").unwrap_or_default();
            let interval = xml.child_text(params, "interval").unwrap_or_default();
            Some(duration::from_ticks(&ticks, &interval).ok_or_else(|| {
                bad(
                    xml,
                    params,
                    &format!("{ticks} {interval}"),
                    "ticks of an interval",
                )
            })?)
        } else {
            return Err(xml.at(
                timer,
                YawlError::MissingElement {
                    parent: "timer".to_owned(),
                    child: "duration",
                },
            ));
        };
        if let Some(millis) = millis {
            result.duration_ms = Some(millis.ms);
            if millis.approximate {
                warn(self, TimerIssue::CalendarApproximated);
            }
        }
        if xml
            .child_text(timer, "workdays")
            .is_some_and(|w| w.trim() == "true")
        {
            warn(self, TimerIssue::Workdays);
        }
        Ok(Some(result))
    }
}

fn bad(xml: Xml<'_>, node: Node<'_, '_>, value: &str, expected: &'static str) -> YawlError {
    xml.at(
        node,
        YawlError::BadValue {
            value: value.trim().to_owned(),
            expected,
        },
    )
}

/// A join or split code.
fn code<'a>(xml: Xml<'_>, node: Node<'a, '_>, name: &'static str) -> Result<&'a str, YawlError> {
    let element = xml.require(node, name)?;
    let code = xml.attribute(element, "code")?;
    if matches!(code, "and" | "or" | "xor") {
        Ok(code)
    } else {
        Err(bad(xml, element, code, "`and`, `or` or `xor`"))
    }
}

/// Names a data document may have: YAWL Beta's `data`, or the net or decomposition id.
fn root_names(id: Option<&str>) -> Vec<String> {
    let mut names = vec!["data".to_owned()];
    names.extend(id.map(str::to_owned));
    names
}

/// The net data, for predicates, starting mappings and split queries.
fn net_scope<'s>(place: &Place<'s>, item: Option<String>) -> Scope<'s> {
    let mut scope = Scope::new(vec![Root {
        names: root_names(Some(place.net)),
        object: Object::Net(place.vars),
    }]);
    scope.hidden.extend(item);
    scope
}

/// The task's output data as the CEL object `code`, for completed mappings.
fn output_scope<'w>(work: &'w Work, code: &str) -> Scope<'w> {
    Scope::new(vec![Root {
        names: root_names(work.decomposition.as_deref()),
        object: Object::Fields {
            code: code.to_owned(),
            vars: Some(&work.output_vars),
        },
    }])
}
