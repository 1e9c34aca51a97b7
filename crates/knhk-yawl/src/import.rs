//! The document level of an import: the specification set, its first specification,
//! the decompositions, the root net, and the variables and parameters every
//! decomposition declares.

use std::collections::{BTreeMap, BTreeSet};

use knhk_model::{DataType, Parameter, Specification, Variable};
use roxmltree::{Document, Node, ParsingOptions};
use serde_json::Value;

use crate::data::{self, Schema, XSD};
use crate::xml::{self, Xml, YAWL, YAWL_BETA};
use crate::xpath::{VarInfo, Vars, XPathError};
use crate::{
    Fallback, FlowRef, Import, ImportOptions, ImportWarning, Site, Untranslated, YawlError,
};

/// Elements the parser accepts in one document: a bound on work for hostile input far
/// above any real specification.
const NODES_MAX: u32 = 1_000_000;

/// Reads `text` as a YAWL specification set.
pub(crate) fn import(text: &str, options: &ImportOptions) -> Result<Import, YawlError> {
    let doc = Document::parse_with_options(
        text,
        ParsingOptions {
            allow_dtd: false,
            nodes_limit: NODES_MAX,
            ..ParsingOptions::default()
        },
    )
    .map_err(|e| YawlError::Xml {
        line: e.pos().row,
        column: e.pos().col,
        message: e.to_string(),
    })?;
    let root = doc.root_element();
    let namespace = root.tag_name().namespace().unwrap_or_default();
    let ns = match namespace {
        YAWL => YAWL,
        YAWL_BETA => YAWL_BETA,
        _ => "",
    };
    if ns.is_empty() || root.tag_name().name() != "specificationSet" {
        return Err(YawlError::NotYawl {
            element: root.tag_name().name().to_owned(),
            namespace: namespace.to_owned(),
        });
    }
    let newlines = xml::newlines(text);
    let xml = Xml {
        ns,
        newlines: &newlines,
    };
    let mut specifications = xml.children(root, "specification");
    let spec = specifications.next().ok_or_else(|| {
        xml.at(
            root,
            YawlError::MissingElement {
                parent: "specificationSet".to_owned(),
                child: "specification",
            },
        )
    })?;
    let mut importer = Importer::new(xml, options, spec);
    for extra in specifications {
        importer.warnings.push(ImportWarning::ExtraSpecification {
            line: xml.line(extra),
            uri: extra.attribute("uri").unwrap_or_default().to_owned(),
        });
    }
    importer.run(spec)
}

/// A decomposition: a net, or the description of an atomic task's work.
#[derive(Clone, Copy)]
pub(crate) struct Decomposition<'a, 'i> {
    pub(crate) node: Node<'a, 'i>,
    pub(crate) is_net: bool,
}

/// A variable or parameter declaration.
#[derive(Debug, Clone)]
pub(crate) struct Declared {
    pub(crate) name: String,
    pub(crate) data_type: DataType,
    pub(crate) initial: Option<String>,
    pub(crate) mandatory: bool,
    /// The line of `initialValue`, or of the declaration without one.
    pub(crate) line: u32,
}

/// The import in progress.
pub(crate) struct Importer<'a, 'i> {
    pub(crate) xml: Xml<'a>,
    pub(crate) options: &'a ImportOptions,
    pub(crate) schema: Schema,
    pub(crate) decompositions: BTreeMap<&'a str, Decomposition<'a, 'i>>,
    pub(crate) used: BTreeSet<String>,
    pub(crate) warnings: Vec<ImportWarning>,
}

impl<'a, 'i> Importer<'a, 'i> {
    fn new(xml: Xml<'a>, options: &'a ImportOptions, spec: Node<'a, 'i>) -> Self {
        let schema = spec
            .children()
            .find(|n| n.tag_name().name() == "schema" && n.tag_name().namespace() == Some(XSD))
            .map(Schema::read)
            .unwrap_or_default();
        Importer {
            xml,
            options,
            schema,
            decompositions: BTreeMap::new(),
            used: BTreeSet::new(),
            warnings: Vec::new(),
        }
    }

    fn run(mut self, spec: Node<'a, 'i>) -> Result<Import, YawlError> {
        let xml = self.xml;
        let id = xml.attribute(spec, "uri")?.to_owned();
        let beta_root = xml.child(spec, "rootNet");
        let mut nets = Vec::new();
        if let Some(root) = beta_root {
            nets.push(root);
        }
        for node in xml.children(spec, "decomposition") {
            let id = xml.attribute(node, "id")?;
            let is_net = xml::xsi_type(node) == Some("NetFactsType");
            if is_net {
                nets.push(node);
            }
            self.decompositions
                .insert(id, Decomposition { node, is_net });
        }
        let root = match beta_root {
            Some(root) => root,
            None => nets
                .iter()
                .copied()
                .find(|n| matches!(n.attribute("isRootNet"), Some("true" | "1")))
                .ok_or_else(|| xml.at(spec, YawlError::NoRootNet))?,
        };
        let root_id = xml.attribute(root, "id")?.to_owned();
        // A Beta root net can be decomposed to as well (recursion).
        self.decompositions
            .entry(xml.attribute(root, "id")?)
            .or_insert(Decomposition {
                node: root,
                is_net: true,
            });
        let nets = nets
            .into_iter()
            .map(|node| self.net(node))
            .collect::<Result<Vec<_>, _>>()?;
        self.warn_unused(&root_id);
        let metadata = xml.child(spec, "metaData");
        let spec = Specification {
            id,
            name: xml.child_text(spec, "name"),
            version: metadata.and_then(|m| xml.child_text(m, "version")),
            documentation: xml.child_text(spec, "documentation"),
            root_net: root_id,
            nets,
        };
        Ok(Import {
            spec,
            warnings: self.warnings,
        })
    }

    fn warn_unused(&mut self, root: &str) {
        let mut unused: Vec<_> = self
            .decompositions
            .iter()
            .filter(|(id, _)| **id != root && !self.used.contains(**id))
            .map(|(id, d)| (self.xml.line(d.node), (*id).to_owned()))
            .collect();
        unused.sort();
        self.warnings
            .extend(unused.into_iter().map(|(line, decomposition)| {
                ImportWarning::UnusedDecomposition {
                    line,
                    decomposition,
                }
            }));
    }

    /// The declarations of a decomposition of one kind (`inputParam`,
    /// `localVariable`, `outputParam`), in document order.
    pub(crate) fn declared(
        &self,
        node: Node<'a, 'i>,
        kind: &'static str,
    ) -> Result<Vec<Declared>, YawlError> {
        let xml = self.xml;
        xml.children(node, kind)
            .map(|var| {
                // Beta writes the name as an attribute, later versions as an element
                // (or an `element` reference to a schema element).
                let name = var
                    .attribute("name")
                    .map(str::to_owned)
                    .or_else(|| xml.child_text(var, "name"))
                    .or_else(|| xml.child_text(var, "element"))
                    .map(|n| n.trim().to_owned())
                    .ok_or_else(|| {
                        xml.at(
                            var,
                            YawlError::MissingElement {
                                parent: kind.to_owned(),
                                child: "name",
                            },
                        )
                    })?;
                let data_type = match xml.child_text(var, "type") {
                    Some(type_name) if xml.child(var, "isUntyped").is_none() => {
                        let type_name = type_name.trim();
                        let namespace = xml.child_text(var, "namespace").or_else(|| {
                            type_name.split_once(':').and_then(|(prefix, _)| {
                                var.lookup_namespace_uri(Some(prefix)).map(str::to_owned)
                            })
                        });
                        self.schema.data_type(type_name, namespace.as_deref())
                    }
                    _ => DataType::Any,
                };
                let initial = xml.child(var, "initialValue");
                Ok(Declared {
                    name,
                    data_type,
                    initial: initial.map(xml::text),
                    mandatory: xml.child(var, "mandatory").is_some(),
                    line: xml.line(initial.unwrap_or(var)),
                })
            })
            .collect()
    }

    /// A net's variables: input parameters and local variables, then output
    /// parameters not declared as either.
    pub(crate) fn net_variables(&self, node: Node<'a, 'i>) -> Result<Vec<Declared>, YawlError> {
        let mut all = self.declared(node, "inputParam")?;
        all.extend(self.declared(node, "localVariable")?);
        for output in self.declared(node, "outputParam")? {
            if !all.iter().any(|d| d.name == output.name) {
                all.push(Declared {
                    initial: None,
                    ..output
                });
            }
        }
        Ok(all)
    }

    /// Converts declarations to model variables, checking initial values.
    pub(crate) fn variables(
        &mut self,
        net: &str,
        declared: &[Declared],
    ) -> Result<Vec<Variable>, YawlError> {
        let mut variables = Vec::new();
        for d in declared {
            let initial = match &d.initial {
                None => None,
                Some(text) => match data::value(text, d.data_type) {
                    Some(value) => Some(value),
                    None if self.options.lenient => {
                        self.warnings.push(ImportWarning::BadInitialValue {
                            line: d.line,
                            net: net.to_owned(),
                            variable: d.name.clone(),
                            value: text.clone(),
                        });
                        None
                    }
                    None => {
                        return Err(YawlError::At {
                            line: d.line,
                            element: "initialValue".to_owned(),
                            source: Box::new(YawlError::BadValue {
                                value: text.clone(),
                                expected: expected(d.data_type),
                            }),
                        });
                    }
                },
            };
            variables.push(Variable {
                name: d.name.clone(),
                data_type: d.data_type,
                initial,
            });
        }
        Ok(variables)
    }

    /// A task's declared parameters of one kind.
    pub(crate) fn parameters(
        &self,
        node: Node<'a, 'i>,
        kind: &'static str,
    ) -> Result<Vec<Parameter>, YawlError> {
        Ok(self
            .declared(node, kind)?
            .into_iter()
            .map(|d| Parameter {
                name: d.name,
                data_type: d.data_type,
                optional: !d.mandatory,
            })
            .collect())
    }

    /// Handles an expression that could not be translated: an error in strict mode;
    /// in lenient mode a warning, and the fallback's expression (if any) to use.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn untranslated(
        &mut self,
        at: Node<'_, '_>,
        net: &str,
        task: &str,
        flow: Option<FlowRef>,
        site: Site,
        expression: &str,
        reason: XPathError,
        fallback: Fallback,
    ) -> Result<Option<String>, YawlError> {
        if !self.options.lenient && fallback != Fallback::Dropped {
            return Err(self.xml.at(
                at,
                YawlError::Untranslated(Box::new(Untranslated {
                    net: net.to_owned(),
                    task: task.to_owned(),
                    flow,
                    site,
                    expression: expression.to_owned(),
                    reason,
                })),
            ));
        }
        let replacement = (fallback == Fallback::Marker).then(|| marker(&site, expression));
        self.warnings.push(ImportWarning::Untranslated {
            line: self.xml.line(at),
            net: net.to_owned(),
            task: task.to_owned(),
            flow,
            site,
            expression: expression.to_owned(),
            reason,
            fallback,
        });
        Ok(replacement)
    }
}

/// The CEL string literal that stands in for an untranslated expression.
fn marker(site: &Site, expression: &str) -> String {
    let language = match site {
        Site::Predicate => "XPath",
        _ => "XQuery",
    };
    crate::xpath::quote(&format!("untranslated {language}: {}", expression.trim()))
}

fn expected(data_type: DataType) -> &'static str {
    match data_type {
        DataType::Boolean => "a boolean (true, false, 1 or 0)",
        DataType::Integer => "an integer",
        DataType::Number => "a number",
        DataType::Array => "a list of elements",
        DataType::Object => "element content",
        DataType::String | DataType::Any => "a value",
    }
}

/// What translation needs to know about declarations.
pub(crate) fn var_infos(declared: &[Declared]) -> Vars {
    declared
        .iter()
        .map(|d| {
            let initialised = d
                .initial
                .as_deref()
                .and_then(|t| data::value(t, d.data_type))
                .is_some_and(|v| v != Value::Null);
            (
                d.name.clone(),
                VarInfo {
                    data_type: d.data_type,
                    initialised,
                },
            )
        })
        .collect()
}
