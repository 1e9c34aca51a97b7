//! Nets: their variables, conditions, tasks and flows (`processControlElements`).
//!
//! Flows are kept as the file gives them, task-to-task arcs included: the model names
//! the implicit condition on such an arc `c{source_target}` itself, as YAWL does.

use knhk_model::{Condition, Net, Termination};
use roxmltree::Node;

use crate::YawlError;
use crate::import::{Importer, var_infos};
use crate::xml;

/// A `flowsInto` as read, before its predicate is translated.
pub(crate) struct RawFlow<'a, 'i> {
    pub(crate) to: String,
    /// The predicate's text and element.
    pub(crate) predicate: Option<(String, Node<'a, 'i>)>,
    pub(crate) ordering: Option<u32>,
    pub(crate) default: bool,
}

impl<'a, 'i> Importer<'a, 'i> {
    /// Reads a net decomposition (or a Beta `rootNet`).
    pub(crate) fn net(&mut self, node: Node<'a, 'i>) -> Result<Net, YawlError> {
        let xml = self.xml;
        let id = xml.attribute(node, "id")?.to_owned();
        let declared = self.net_variables(node)?;
        let variables = self.variables(&id, &declared)?;
        let vars = var_infos(&declared);
        let elements = xml.require(node, "processControlElements")?;
        let mut net = Net {
            input_condition: self.condition(xml.require(elements, "inputCondition")?)?,
            output_condition: self.condition(xml.require(elements, "outputCondition")?)?,
            id,
            conditions: Vec::new(),
            tasks: Vec::new(),
            flows: Vec::new(),
            variables,
            termination: Termination::Explicit,
        };
        let children = elements
            .children()
            .filter(|n| n.is_element() && n.tag_name().namespace() == Some(xml.ns));
        for child in children {
            let kind = child.tag_name().name();
            if !matches!(
                kind,
                "inputCondition" | "outputCondition" | "condition" | "task"
            ) {
                continue;
            }
            let raw = self.flows_into(child)?;
            if kind == "task" {
                let (task, flows) = self.task(child, &net.id, &vars, raw)?;
                net.tasks.push(task);
                net.flows.extend(flows);
                continue;
            }
            let condition = self.condition(child)?;
            // Only a task's flows route by predicate; a condition's are plain arcs.
            net.flows.extend(raw.into_iter().map(|f| knhk_model::Flow {
                from: condition.id.clone(),
                to: f.to,
                predicate: None,
                ordering: None,
                default: false,
            }));
            if kind == "condition" {
                net.conditions.push(condition);
            }
        }
        Ok(net)
    }

    fn condition(&self, node: Node<'a, 'i>) -> Result<Condition, YawlError> {
        Ok(Condition {
            id: self.xml.attribute(node, "id")?.to_owned(),
            name: self
                .xml
                .child_text(node, "name")
                .map(|n| n.trim().to_owned()),
        })
    }

    /// The outgoing flows of a net element. Every element but the output condition
    /// must have one.
    fn flows_into(&self, node: Node<'a, 'i>) -> Result<Vec<RawFlow<'a, 'i>>, YawlError> {
        let xml = self.xml;
        let mut flows = Vec::new();
        for flow in xml.children(node, "flowsInto") {
            let next = xml.require(flow, "nextElementRef")?;
            let predicate = xml.child(flow, "predicate");
            let ordering = match predicate.and_then(|p| p.attribute("ordering")) {
                None => None,
                Some(text) => Some(text.trim().parse::<u32>().map_err(|_| {
                    xml.at(
                        flow,
                        YawlError::BadValue {
                            value: text.to_owned(),
                            expected: "a non-negative ordering",
                        },
                    )
                })?),
            };
            flows.push(RawFlow {
                to: xml.attribute(next, "id")?.to_owned(),
                predicate: predicate
                    .map(|p| (xml::text(p).trim().to_owned(), p))
                    .filter(|(text, _)| !text.is_empty()),
                ordering,
                default: xml.child(flow, "isDefaultFlow").is_some(),
            });
        }
        if flows.is_empty() && node.tag_name().name() != "outputCondition" {
            return Err(xml.at(
                node,
                YawlError::NoOutgoingFlow {
                    element: node.attribute("id").unwrap_or_default().to_owned(),
                },
            ));
        }
        Ok(flows)
    }
}
