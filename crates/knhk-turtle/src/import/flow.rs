//! Reading a net's flows, in every form the examples and YAWL's ontology use:
//!
//! - flow resources (`a yawl:Flow ; yawl:flowsFrom <a> ; yawl:flowsInto <b>`), listed by
//!   the net's `yawl:hasFlow` or only typed;
//! - direct links between elements (`<a> yawl:hasOutgoingFlow <b>`,
//!   `<b> yawl:hasIncomingFlow <a>`, `<a> yawl:flowsInto <b>`);
//! - links from an element to a flow resource (`<a> yawl:flowsInto [ yawl:nextElementRef
//!   <b> ; yawl:predicate "..." ]`, or `yawl:hasOutgoingFlow <flow>`).
//!
//! The same arc described several times (from both ends, say) is one flow; its position
//! is its first mention in the document.

use std::collections::HashMap;

use knhk_model::{Flow, implicit_condition_id};
use oxrdf::Term;

use super::{Importer, NetSource, Place};
use crate::error::TurtleError;
use crate::graph::{Node, as_node, node_name, show_term};
use crate::values::{COUNT, flag, number, one, resource, resources, string};
use crate::vocab as v;

/// The flow resources met while collecting, in order, with an index by node.
#[derive(Default)]
struct FlowRefs {
    list: Vec<FlowRef>,
    index: HashMap<Node, usize>,
}

/// A flow resource met while collecting, with the ends implied by the links to it.
struct FlowRef {
    node: Node,
    position: usize,
    from: Option<Node>,
    to: Option<Node>,
}

/// One description of an arc, before descriptions of the same arc are merged.
struct Draft {
    position: usize,
    flow: Flow,
}

impl Importer<'_> {
    /// The net's flows in document order, and for each flow resource the id of the
    /// condition it passes through (for cancellation members that name a flow).
    pub(super) fn read_flows(
        &self,
        net: usize,
        source: &NetSource,
    ) -> Result<(Vec<Flow>, HashMap<Node, String>), TurtleError> {
        let graph = self.graph;
        let mut refs = FlowRefs::default();
        let mut drafts = Vec::new();
        for (index, _, node) in resources(graph, &source.node, &[v::HAS_FLOW])? {
            add_ref(&mut refs, node, index, None, None)?;
        }
        self.read_links(net, source, &mut refs, &mut drafts)?;
        self.add_typed(net, &mut refs)?;

        let by_id: HashMap<&str, &Place> = self
            .places
            .values()
            .filter(|place| place.net == net)
            .map(|place| (place.id.as_str(), place))
            .collect();
        let mut flow_places = HashMap::new();
        for flow_ref in &refs.list {
            let draft = self.read_flow(net, source, flow_ref)?;
            let from = by_id.get(draft.flow.from.as_str());
            let to = by_id.get(draft.flow.to.as_str());
            let place = match (from, to) {
                (Some(f), Some(t)) if f.task && t.task => {
                    implicit_condition_id(&draft.flow.from, &draft.flow.to)
                }
                (Some(f), _) if !f.task => draft.flow.from.clone(),
                _ => draft.flow.to.clone(),
            };
            flow_places.insert(flow_ref.node.clone(), place);
            self.flows_read.borrow_mut().insert(flow_ref.node.clone());
            drafts.push(draft);
        }
        let flows = merge(drafts).map_err(|e| e.at(&source.iri, v::HAS_FLOW))?;
        Ok((flows, flow_places))
    }

    /// The links of the net's elements (`hasOutgoingFlow`, `flowsInto`,
    /// `hasIncomingFlow`): arcs between two elements become drafts, links to flow
    /// resources become references with an implied end.
    fn read_links(
        &self,
        net: usize,
        source: &NetSource,
        refs: &mut FlowRefs,
        drafts: &mut Vec<Draft>,
    ) -> Result<(), TurtleError> {
        let graph = self.graph;
        let elements = [&source.input, &source.output]
            .into_iter()
            .chain(&source.conditions)
            .chain(&source.tasks);
        let links = [v::HAS_OUTGOING_FLOW, v::FLOWS_INTO, v::HAS_INCOMING_FLOW];
        for element in elements {
            for (index, property, term) in graph.values(element, &links) {
                let outgoing = property != v::HAS_INCOMING_FLOW;
                let at = |err: TurtleError| err.at(&node_name(element), property);
                let other = as_node(term).ok_or_else(|| {
                    at(TurtleError::NotResource {
                        found: show_term(term),
                    })
                })?;
                match self.places.get(&other) {
                    Some(place) if place.net == net => {
                        let here = self.places[element].id.clone();
                        let (from, to) = if outgoing {
                            (here, place.id.clone())
                        } else {
                            (place.id.clone(), here)
                        };
                        drafts.push(Draft {
                            position: index,
                            flow: plain_flow(from, to),
                        });
                    }
                    // An element of another net, or a resource the document says
                    // nothing about (a mistyped IRI, most likely).
                    Some(_) => return Err(at(self.unknown(&other, source))),
                    None if graph.first_mention(&other).is_none() => {
                        return Err(at(self.unknown(&other, source)));
                    }
                    None => {
                        let (from, to) = if outgoing {
                            (Some(element.clone()), None)
                        } else {
                            (None, Some(element.clone()))
                        };
                        add_ref(refs, other, index, from, to)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Flow resources that only their type makes known belong to the net of their
    /// source (or, without one, their target).
    fn add_typed(&self, net: usize, refs: &mut FlowRefs) -> Result<(), TurtleError> {
        let graph = self.graph;
        for (index, node) in graph.subjects_of_type(&[v::FLOW]) {
            if refs.index.contains_key(&node) {
                continue;
            }
            let ends = graph.values(&node, &[v::FLOWS_FROM, v::FLOWS_INTO, v::NEXT_ELEMENT_REF]);
            let here = ends
                .iter()
                .find_map(|(_, _, term)| as_node(term).and_then(|end| self.places.get(&end)));
            if here.is_some_and(|place| place.net == net) {
                add_ref(refs, node, index, None, None)?;
            }
        }

        Ok(())
    }

    fn unknown(&self, found: &Node, source: &NetSource) -> TurtleError {
        TurtleError::UnknownElement {
            found: node_name(found),
            net: source.iri.clone(),
        }
    }

    /// Reads one flow resource: its ends (stated, or implied by the element linking to
    /// it), predicate, ordering and default flag.
    fn read_flow(
        &self,
        net: usize,
        source: &NetSource,
        flow_ref: &FlowRef,
    ) -> Result<Draft, TurtleError> {
        let graph = self.graph;
        let node = &flow_ref.node;
        let iri = node_name(node);
        graph.claim(node);
        let end = |properties: &[&'static str], implied: &Option<Node>| {
            let stated = resource(graph, node, properties)?;
            let property = properties[0];
            let end = match (stated, implied) {
                (Some((_, stated)), Some(implied)) if stated != *implied => {
                    let values = vec![
                        format!("<{}>", node_name(&stated)),
                        format!("<{}>", node_name(implied)),
                    ];
                    return Err(TurtleError::SeveralValues { values }.at(&iri, property));
                }
                (Some((_, end)), _) => end,
                (None, Some(implied)) => implied.clone(),
                (None, None) => return Err(TurtleError::Missing.at(&iri, property)),
            };
            match self.places.get(&end) {
                Some(place) if place.net == net => Ok(place.id.clone()),
                _ => Err(self.unknown(&end, source).at(&iri, property)),
            }
        };
        let from = end(&[v::FLOWS_FROM], &flow_ref.from)?;
        let to = end(&[v::FLOWS_INTO, v::NEXT_ELEMENT_REF], &flow_ref.to)?;
        let mut ordering = number(graph, node, &[v::ORDERING], COUNT)?;
        let predicate = match one(graph, node, &[v::PREDICATE, v::HAS_PREDICATE])? {
            None => None,
            Some((_, Term::Literal(literal))) => Some(literal.value().to_owned()),
            // YAWL's shape: a predicate resource with the expression and its ordering.
            Some((property, term)) => {
                let Some(inner) = as_node(term) else {
                    return Err(TurtleError::Missing.at(&iri, property));
                };
                graph.claim(&inner);
                let read = || -> Result<(String, Option<u32>), TurtleError> {
                    let query = string(graph, &inner, &[v::QUERY, v::EXPRESSION, v::RDF_VALUE])?
                        .ok_or_else(|| TurtleError::Missing.at(&node_name(&inner), v::QUERY))?;
                    Ok((query, number(graph, &inner, &[v::ORDERING], COUNT)?))
                };
                let (query, inner_ordering) = read().map_err(|e| e.at(&iri, property))?;
                ordering = ordering.or(inner_ordering);
                Some(query)
            }
        };
        let default = flag(graph, node, &[v::IS_DEFAULT_FLOW])?.unwrap_or(false);
        Ok(Draft {
            position: flow_ref.position,
            flow: Flow {
                from,
                to,
                predicate,
                ordering,
                default,
            },
        })
    }
}

fn plain_flow(from: String, to: String) -> Flow {
    Flow {
        from,
        to,
        predicate: None,
        ordering: None,
        default: false,
    }
}

/// Records a flow resource, or, when it is already known, an earlier position and the
/// ends another link implies.
fn add_ref(
    refs: &mut FlowRefs,
    node: Node,
    position: usize,
    from: Option<Node>,
    to: Option<Node>,
) -> Result<(), TurtleError> {
    let Some(&at) = refs.index.get(&node) else {
        refs.index.insert(node.clone(), refs.list.len());
        refs.list.push(FlowRef {
            node,
            position,
            from,
            to,
        });
        return Ok(());
    };
    let known = &mut refs.list[at];
    known.position = known.position.min(position);
    for (slot, new, property) in [
        (&mut known.from, from, v::FLOWS_FROM),
        (&mut known.to, to, v::FLOWS_INTO),
    ] {
        match (slot.as_ref(), new) {
            (Some(old), Some(new)) if *old != new => {
                let values = vec![
                    format!("<{}>", node_name(old)),
                    format!("<{}>", node_name(&new)),
                ];
                return Err(TurtleError::SeveralValues { values }.at(&node_name(&node), property));
            }
            (None, Some(new)) => *slot = Some(new),
            _ => {}
        }
    }
    Ok(())
}

/// Merges the descriptions of each arc, keeping the arcs in the order of their first
/// description.
fn merge(mut drafts: Vec<Draft>) -> Result<Vec<Flow>, TurtleError> {
    drafts.sort_by_key(|d| d.position);
    let mut flows: Vec<Flow> = Vec::new();
    let mut arcs: HashMap<(String, String), usize> = HashMap::new();
    for Draft { flow, .. } in drafts {
        let arc = (flow.from.clone(), flow.to.clone());
        let Some(&at) = arcs.get(&arc) else {
            arcs.insert(arc, flows.len());
            flows.push(flow);
            continue;
        };
        let known = &mut flows[at];
        let conflict = |what| TurtleError::ConflictingFlow {
            from: flow.from.clone(),
            to: flow.to.clone(),
            what,
        };
        match (&known.predicate, &flow.predicate) {
            (Some(a), Some(b)) if a != b => return Err(conflict("predicates")),
            (None, Some(_)) => known.predicate.clone_from(&flow.predicate),
            _ => {}
        }
        match (known.ordering, flow.ordering) {
            (Some(a), Some(b)) if a != b => return Err(conflict("orderings")),
            (None, Some(b)) => known.ordering = Some(b),
            _ => {}
        }
        known.default |= flow.default;
    }
    Ok(flows)
}
