//! Turtle to model: finds the specification, its nets, their elements and flows, and
//! builds a [`Specification`] with the warnings met on the way.
//!
//! The reading is lenient where the examples disagree (both spellings of join and
//! split codes, flows as resources or as links, the specification as its own root net
//! or with separate nets) and strict where a guess would change behaviour: a property
//! that takes one value with two different ones, a flow to an element of no net, or a
//! value of the wrong kind is an error naming the subject and property.
//!
//! Data flow: [`import`] parses into a [`Graph`], finds the nets ([`Importer::new`]),
//! derives ids ([`crate::ids`]), reads conditions and tasks (`task.rs`), then flows
//! (`flow.rs`), and resolves cancellation members last, since a member may be a flow
//! (the implicit condition on it).

mod flow;
mod task;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};

use knhk_model::{Condition, Net, Specification, Termination, Variable};
use oxrdf::{NamedOrBlankNode, Term};
use serde_json::Value;

use crate::error::{ImportWarning, TurtleError};
use crate::graph::{Graph, Node, node_name, show_term};
use crate::ids::derive_ids;
use crate::values::{self, choice, flag, local_name, resource, resources, string};
use crate::vocab as v;

/// The result of [`crate::import`]: the specification, what was not taken over, and the
/// IRI each id came from.
///
/// The specification is not validated: a document may describe a net that breaks the
/// model's rules, and the caller decides (with [`knhk_model::validate`]) what to do.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Import {
    /// The specification read.
    pub spec: Specification,
    /// Properties not imported, values ignored, elements not connected, in the order met.
    pub warnings: Vec<ImportWarning>,
    /// The IRI of the specification, of each net and of each condition and task.
    pub iris: Iris,
}

/// Where each id of an imported specification came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Iris {
    spec: String,
    nets: BTreeMap<String, String>,
    elements: BTreeMap<(String, String), String>,
}

impl Iris {
    /// The specification's IRI.
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// The IRI of the net with id `net`.
    pub fn net(&self, net: &str) -> Option<&str> {
        self.nets.get(net).map(String::as_str)
    }

    /// The IRI of the condition or task `element` of net `net`.
    pub fn element(&self, net: &str, element: &str) -> Option<&str> {
        self.elements
            .get(&(net.to_owned(), element.to_owned()))
            .map(String::as_str)
    }
}

/// Reads a Turtle document into a specification. See the crate documentation.
pub(crate) fn import(text: &str, base: Option<&str>) -> Result<Import, TurtleError> {
    let graph = Graph::parse(text, base)?;
    let spec_node = find_spec(&graph)?;
    let importer = Importer::new(&graph, &spec_node)?;
    let (spec, iris) = importer.run()?;
    importer.warn_orphans();
    Ok(Import {
        spec,
        warnings: graph.into_warnings(),
        iris,
    })
}

fn find_spec(graph: &Graph) -> Result<Node, TurtleError> {
    let specs = graph.subjects_of_type(&[v::SPECIFICATION, v::WORKFLOW_SPECIFICATION]);
    match specs.as_slice() {
        [] => Err(TurtleError::NoSpecification),
        [(_, spec)] => Ok(spec.clone()),
        several => Err(TurtleError::SeveralSpecifications {
            specs: several.iter().map(|(_, s)| node_name(s)).collect(),
        }),
    }
}

/// Properties that make a specification resource its own (root) net.
const NET_CONTENT: [&str; 7] = [
    v::HAS_INPUT_CONDITION,
    v::HAS_START_CONDITION,
    v::HAS_OUTPUT_CONDITION,
    v::HAS_END_CONDITION,
    v::HAS_TASK,
    v::HAS_CONDITION,
    v::HAS_FLOW,
];

/// A net found in the document, with its elements in order.
struct NetSource {
    node: Node,
    iri: String,
    id: String,
    input: Node,
    output: Node,
    conditions: Vec<Node>,
    tasks: Vec<Node>,
}

/// Where an element lives: its net's index and its id there.
#[derive(Clone)]
struct Place {
    net: usize,
    id: String,
    task: bool,
}

struct Importer<'g> {
    graph: &'g Graph,
    spec: Node,
    root: usize,
    nets: Vec<NetSource>,
    places: HashMap<Node, Place>,
    net_ids: HashMap<Node, String>,
    /// The flow resources read, so that the others can be reported.
    flows_read: RefCell<HashSet<Node>>,
}

impl<'g> Importer<'g> {
    /// Finds the nets and their elements, and gives everything an id.
    fn new(graph: &'g Graph, spec: &Node) -> Result<Importer<'g>, TurtleError> {
        graph.claim(spec);
        let spec_iri = node_name(spec);
        let flattened = graph.has_any(spec, &NET_CONTENT);
        let mut net_nodes = Vec::new();
        if flattened {
            net_nodes.push(spec.clone());
        }
        for (_, property, net) in resources(graph, spec, &[v::HAS_DECOMPOSITION, v::HAS_NET])? {
            named(&net).map_err(|e| e.at(&spec_iri, property))?;
            if !net_nodes.contains(&net) {
                net_nodes.push(net);
            }
        }
        if net_nodes.is_empty() {
            return Err(TurtleError::Missing.at(&spec_iri, v::HAS_INPUT_CONDITION));
        }

        // Net ids: `knhk:id`, else derived from the IRIs of the nets without one. The
        // specification's own `knhk:id` is its id, not its net's.
        let mut explicit = Vec::new();
        for net in &net_nodes {
            let id = if net == spec {
                None
            } else {
                graph.claim(net);
                string(graph, net, &[v::ID])?
            };
            explicit.push(id);
        }
        let ids = assign_ids(&net_nodes, explicit);
        let net_ids: HashMap<Node, String> = net_nodes.iter().cloned().zip(ids.clone()).collect();
        let root = find_root(graph, spec, &net_nodes, flattened)?;

        let mut nets = Vec::new();
        let mut places = HashMap::new();
        for (index, (node, id)) in net_nodes.iter().zip(ids).enumerate() {
            let net = read_elements(graph, node, id)?;
            register(graph, index, &net, &mut places)?;
            nets.push(net);
        }
        Ok(Importer {
            graph,
            spec: spec.clone(),
            root,
            nets,
            places,
            net_ids,
            flows_read: RefCell::default(),
        })
    }

    fn run(&self) -> Result<(Specification, Iris), TurtleError> {
        let graph = self.graph;
        let spec_iri = node_name(&self.spec);
        let mut iris = Iris {
            spec: spec_iri.clone(),
            ..Iris::default()
        };
        let id = string(graph, &self.spec, &[v::ID])?
            .unwrap_or_else(|| local_name(&spec_iri).to_owned());
        let name = string(graph, &self.spec, &[v::SPEC_NAME, v::RDFS_LABEL, v::NAME])?;
        let version = string(graph, &self.spec, &[v::VERSION])?;
        let documentation = string(graph, &self.spec, &[v::DOCUMENTATION, v::RDFS_COMMENT])?;

        let mut nets = Vec::new();
        for (index, source) in self.nets.iter().enumerate() {
            iris.nets.insert(source.id.clone(), source.iri.clone());
            for element in [&source.input, &source.output]
                .into_iter()
                .chain(&source.conditions)
                .chain(&source.tasks)
            {
                let id = self.places[element].id.clone();
                iris.elements
                    .insert((source.id.clone(), id), node_name(element));
            }
            nets.push(self.read_net(index, source)?);
        }
        let spec = Specification {
            id,
            name,
            version,
            documentation,
            root_net: self.nets[self.root].id.clone(),
            nets,
        };
        Ok((spec, iris))
    }

    fn read_net(&self, index: usize, source: &NetSource) -> Result<Net, TurtleError> {
        let graph = self.graph;
        let input_condition = self.condition(&source.input)?;
        let output_condition = self.condition(&source.output)?;
        let conditions = source
            .conditions
            .iter()
            .map(|c| self.condition(c))
            .collect::<Result<Vec<_>, _>>()?;
        let mut tasks = Vec::new();
        let mut cancellations = Vec::new();
        for node in &source.tasks {
            let (task, members) = self.read_task(node)?;
            tasks.push(task);
            cancellations.push(members);
        }
        let (flows, flow_places) = self.read_flows(index, source)?;
        for ((task, node), members) in tasks.iter_mut().zip(&source.tasks).zip(cancellations) {
            task.cancellation_set = self.cancellation_set(index, node, members, &flow_places);
        }
        self.warn_unconnected(source, &flows);

        let mut variables = Vec::new();
        for (_, property, node) in resources(
            graph,
            &source.node,
            &[v::HAS_LOCAL_VARIABLE, v::HAS_VARIABLE],
        )? {
            variables.push(read_variable(graph, &node).map_err(|e| e.at(&source.iri, property))?);
        }
        let termination = choice(
            graph,
            &source.node,
            &[v::TERMINATION],
            "a termination (explicit, implicit)",
            |k| match k {
                "explicit" => Some(Termination::Explicit),
                "implicit" => Some(Termination::Implicit),
                _ => None,
            },
        )?
        .unwrap_or_default();
        Ok(Net {
            id: source.id.clone(),
            input_condition,
            output_condition,
            conditions,
            tasks,
            flows,
            variables,
            termination,
        })
    }

    fn condition(&self, node: &Node) -> Result<Condition, TurtleError> {
        let label = string(
            self.graph,
            node,
            &[v::CONDITION_NAME, v::RDFS_LABEL, v::NAME],
        )?;
        Ok(Condition {
            id: self.places[node].id.clone(),
            name: self.element_name(node, label),
        })
    }

    /// An element's model name. An element written by knhk (it has `knhk:id`) keeps its
    /// label as is. Any other element's name is its label followed by its IRI in angle
    /// brackets, or the bracketed IRI alone, so that whoever reports on the model (the
    /// verifier, the API) names the IRI the author wrote.
    fn element_name(&self, node: &Node, label: Option<String>) -> Option<String> {
        if self.graph.has_any(node, &[v::ID]) {
            return label;
        }
        let iri = node_name(node);
        Some(match label {
            Some(label) => format!("{label} <{iri}>"),
            None => format!("<{iri}>"),
        })
    }

    fn warn_unconnected(&self, source: &NetSource, flows: &[knhk_model::Flow]) {
        let connected: HashSet<&str> = flows
            .iter()
            .flat_map(|f| [f.from.as_str(), f.to.as_str()])
            .collect();
        for element in [&source.input, &source.output]
            .into_iter()
            .chain(&source.conditions)
            .chain(&source.tasks)
        {
            if !connected.contains(self.places[element].id.as_str()) {
                self.graph.warn(ImportWarning::Unconnected {
                    element: node_name(element),
                });
            }
        }
    }

    /// Resources typed as tasks, conditions or flows that no net takes.
    fn warn_orphans(&self) {
        let classes = [
            v::TASK,
            v::ATOMIC_TASK,
            v::COMPOSITE_TASK,
            v::MULTIPLE_INSTANCE_TASK,
            v::EMPTY_TASK,
            v::CONDITION,
            v::INPUT_CONDITION,
            v::OUTPUT_CONDITION,
        ];
        for (_, node) in self.graph.subjects_of_type(&classes) {
            if !self.places.contains_key(&node) {
                self.graph.warn(ImportWarning::Orphan {
                    subject: node_name(&node),
                });
            }
        }
        for (_, node) in self.graph.subjects_of_type(&[v::FLOW]) {
            if !self.flows_read.borrow().contains(&node) {
                self.graph.warn(ImportWarning::Orphan {
                    subject: node_name(&node),
                });
            }
        }
    }
}

/// Ids for `nodes`: the explicit one where given, else derived from the IRIs of the
/// nodes without one (all nodes are IRIs by now).
fn assign_ids(nodes: &[Node], explicit: Vec<Option<String>>) -> Vec<String> {
    let names: Vec<String> = nodes.iter().map(node_name).collect();
    let derive: Vec<&str> = names
        .iter()
        .zip(&explicit)
        .filter(|(_, id)| id.is_none())
        .map(|(name, _)| name.as_str())
        .collect();
    let mut derived = derive_ids(&derive).into_iter();
    explicit
        .into_iter()
        .map(|id| id.unwrap_or_else(|| derived.next().unwrap_or_default()))
        .collect()
}

/// Gives the elements of net `index` their ids (`knhk:id`, else derived from the IRIs of
/// the net's elements) and records where each lives; an element already placed is an
/// error.
fn register(
    graph: &Graph,
    index: usize,
    net: &NetSource,
    places: &mut HashMap<Node, Place>,
) -> Result<(), TurtleError> {
    let all: Vec<(Node, bool)> = [(&net.input, false), (&net.output, false)]
        .into_iter()
        .chain(net.conditions.iter().map(|c| (c, false)))
        .chain(net.tasks.iter().map(|t| (t, true)))
        .map(|(n, task)| (n.clone(), task))
        .collect();
    let mut explicit = Vec::new();
    for (element, _) in &all {
        graph.claim(element);
        explicit.push(string(graph, element, &[v::ID])?);
    }
    let nodes: Vec<Node> = all.iter().map(|(n, _)| n.clone()).collect();
    let ids = assign_ids(&nodes, explicit);
    for ((element, task), id) in all.into_iter().zip(ids) {
        let place = Place {
            net: index,
            id,
            task,
        };
        if places.insert(element.clone(), place).is_some() {
            let err = TurtleError::ListedTwice {
                element: node_name(&element),
            };
            let property = if task { v::HAS_TASK } else { v::HAS_CONDITION };
            return Err(err.at(&net.iri, property));
        }
    }
    Ok(())
}

fn find_root(
    graph: &Graph,
    spec: &Node,
    nets: &[Node],
    flattened: bool,
) -> Result<usize, TurtleError> {
    let spec_iri = node_name(spec);
    let marked: Vec<usize> = nets
        .iter()
        .enumerate()
        .filter(|(_, net)| *net != spec)
        .map(|(index, net)| Ok((index, flag(graph, net, &[v::IS_ROOT_NET])?)))
        .collect::<Result<Vec<_>, TurtleError>>()?
        .into_iter()
        .filter(|(_, root)| *root == Some(true))
        .map(|(index, _)| index)
        .collect();
    if let Some((property, root)) = resource(graph, spec, &[v::HAS_ROOT_NET])? {
        return nets.iter().position(|n| *n == root).ok_or_else(|| {
            TurtleError::UnknownNet {
                found: node_name(&root),
            }
            .at(&spec_iri, property)
        });
    }
    match marked.as_slice() {
        [root] => Ok(*root),
        [] if flattened || nets.len() == 1 => Ok(0),
        [] => Err(TurtleError::Missing.at(&spec_iri, v::HAS_ROOT_NET)),
        several => {
            let values = several
                .iter()
                .map(|&i| format!("<{}>", node_name(&nets[i])));
            Err(TurtleError::SeveralValues {
                values: values.collect(),
            }
            .at(&spec_iri, v::IS_ROOT_NET))
        }
    }
}

/// Reads a net's input and output conditions, other conditions and tasks.
fn read_elements(graph: &Graph, net: &Node, id: String) -> Result<NetSource, TurtleError> {
    let iri = node_name(net);
    let element = |(property, node): (&str, Node)| -> Result<Node, TurtleError> {
        named(&node).map_err(|e| e.at(&iri, property))?;
        Ok(node)
    };
    let input = resource(
        graph,
        net,
        &[v::HAS_INPUT_CONDITION, v::HAS_START_CONDITION],
    )?
    .map(element)
    .transpose()?;
    let output = resource(graph, net, &[v::HAS_OUTPUT_CONDITION, v::HAS_END_CONDITION])?
        .map(element)
        .transpose()?;
    let mut listed = Vec::new();
    for (_, property, node) in resources(graph, net, &[v::HAS_CONDITION])? {
        listed.push(element((property, node))?);
    }
    let mut tasks = Vec::new();
    for (_, property, node) in resources(graph, net, &[v::HAS_TASK])? {
        tasks.push(element((property, node))?);
    }
    // Without the linking property, a listed condition typed as the input (output)
    // condition is one.
    let typed = |class: &str| listed.iter().find(|c| graph.is_a(c, &[class])).cloned();
    let input = input
        .or_else(|| typed(v::INPUT_CONDITION))
        .ok_or_else(|| TurtleError::Missing.at(&iri, v::HAS_INPUT_CONDITION))?;
    let output = output
        .or_else(|| typed(v::OUTPUT_CONDITION))
        .ok_or_else(|| TurtleError::Missing.at(&iri, v::HAS_OUTPUT_CONDITION))?;
    let conditions = listed
        .into_iter()
        .filter(|c| *c != input && *c != output)
        .collect();
    Ok(NetSource {
        node: net.clone(),
        iri,
        id,
        input,
        output,
        conditions,
        tasks,
    })
}

/// Nets and their elements need IRIs: a blank node has no stable name to derive an id
/// from.
fn named(node: &Node) -> Result<(), TurtleError> {
    match node {
        NamedOrBlankNode::NamedNode(_) => Ok(()),
        NamedOrBlankNode::BlankNode(_) => Err(TurtleError::BlankElement),
    }
}

fn read_variable(graph: &Graph, node: &Node) -> Result<Variable, TurtleError> {
    graph.claim(node);
    let subject = node_name(node);
    let name = string(graph, node, &[v::VAR_NAME, v::NAME])?
        .ok_or_else(|| TurtleError::Missing.at(&subject, v::VAR_NAME))?;
    let data_type = task::data_type(graph, node, &[v::VAR_TYPE])?.unwrap_or_default();
    let initial = match values::one(graph, node, &[v::INITIAL_VALUE])? {
        Some((property, term)) => {
            Some(json_value(term, data_type).map_err(|e| e.at(&subject, property))?)
        }
        None => None,
    };
    Ok(Variable {
        name,
        data_type,
        initial,
    })
}

/// A variable's initial value: an `rdf:JSON` literal is parsed as JSON; XSD booleans and
/// numbers become JSON ones; any other literal is a JSON string for a variable typed
/// `string` or `any`, and JSON text for the other types.
fn json_value(term: &Term, data_type: knhk_model::DataType) -> Result<Value, TurtleError> {
    use knhk_model::DataType;
    let bad = |expected| TurtleError::BadValue {
        value: show_term(term),
        expected,
    };
    let Term::Literal(literal) = term else {
        return Err(TurtleError::NotLiteral {
            found: show_term(term),
        });
    };
    let text = literal.value();
    let datatype = literal.datatype().as_str();
    let local = datatype.strip_prefix(v::XSD).unwrap_or("");
    if datatype == v::RDF_JSON {
        return serde_json::from_str(text).map_err(|_| bad("JSON text"));
    }
    match local {
        "boolean" => match text.trim() {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err(bad("a boolean")),
        },
        "integer" | "int" | "long" | "short" | "byte" | "nonNegativeInteger"
        | "positiveInteger" | "negativeInteger" | "nonPositiveInteger" | "unsignedLong"
        | "unsignedInt" | "unsignedShort" | "unsignedByte" => {
            let digits = text.trim().strip_prefix('+').unwrap_or(text.trim());
            serde_json::from_str::<Value>(digits)
                .ok()
                .filter(|value| value.is_i64() || value.is_u64())
                .ok_or_else(|| bad("an integer"))
        }
        "decimal" | "double" | "float" => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| bad("a finite number")),
        _ if matches!(data_type, DataType::String | DataType::Any) => {
            Ok(Value::String(text.to_owned()))
        }
        _ => serde_json::from_str(text).map_err(|_| bad("JSON text")),
    }
}
