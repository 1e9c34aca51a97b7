//! Specification formats: which one a text is in, and reading it into the model with
//! the importer's warnings as verification findings.

use std::fmt;
use std::path::Path;

use knhk_model::Specification;
use knhk_verify::{Element, Finding, Rule};

/// A specification format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// knhk's canonical JSON.
    Json,
    /// Turtle in the YAWL ontology namespace.
    Turtle,
    /// YAWL XML, either dialect.
    Yawl,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Json => "JSON",
            Format::Turtle => "Turtle",
            Format::Yawl => "YAWL XML",
        })
    }
}

/// The format of `path`: by its extension, else by its first non-blank character (`{`
/// JSON, `<` XML, anything else Turtle).
pub fn detect(path: &Path, text: &str) -> Format {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("json") => Format::Json,
        Some("ttl") => Format::Turtle,
        Some("yawl" | "xml") => Format::Yawl,
        _ => by_content(text),
    }
}

/// The format an HTTP `Content-Type` names (parameters such as `charset` ignored):
/// `application/json`, `text/turtle`, `application/xml` or `text/xml`; `None` for any
/// other type.
pub fn detect_content_type(content_type: &str) -> Option<Format> {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    match essence.to_ascii_lowercase().as_str() {
        "application/json" => Some(Format::Json),
        "text/turtle" => Some(Format::Turtle),
        "application/xml" | "text/xml" | "application/yawl+xml" => Some(Format::Yawl),
        _ => None,
    }
}

fn by_content(text: &str) -> Format {
    match text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .next()
    {
        Some('{') => Format::Json,
        Some('<') => Format::Yawl,
        _ => Format::Turtle,
    }
}

/// What reading a file gave.
pub(crate) enum Loaded {
    /// A specification (not yet verified), with the importer's warnings.
    Spec(Box<Specification>, Vec<ImportNote>),
    /// The file is not a specification in its format: the reader's message.
    Unreadable(String),
}

/// An importer's warning as a finding, and the verifier finding that would say the
/// same (then the warning is left out, so that nothing is reported twice).
pub(crate) struct ImportNote {
    /// The warning.
    pub(crate) finding: Finding,
    /// The net and element of a verifier error that covers it.
    pub(crate) covered_by: Option<(String, Element)>,
}

impl ImportNote {
    fn plain(finding: Finding) -> Self {
        ImportNote {
            finding,
            covered_by: None,
        }
    }
}

/// Reads `text` in `format`; `base` is the base IRI for Turtle.
pub(crate) fn load(format: Format, text: &str, base: &str, lenient: bool) -> Loaded {
    match format {
        Format::Json => load_json(text),
        Format::Turtle => load_turtle(text, base),
        Format::Yawl => load_yawl(text, lenient),
    }
}

/// YAWL XML: an unused decomposition that is not a net becomes an
/// `unused_decomposition` warning (the verifier reports unused nets itself, from a
/// wider rule), the other warnings `import` findings.
fn load_yawl(text: &str, lenient: bool) -> Loaded {
    let import = match knhk_yawl::import(text, &knhk_yawl::ImportOptions { lenient }) {
        Ok(import) => import,
        Err(err) => return Loaded::Unreadable(err.to_string()),
    };
    let notes = import
        .warnings
        .iter()
        .filter_map(|warning| match warning {
            knhk_yawl::ImportWarning::UnusedDecomposition { decomposition, .. } => {
                import.spec.net(decomposition).is_none().then(|| {
                    ImportNote::plain(Finding {
                        net: None,
                        element: Some(Element::Decomposition {
                            id: decomposition.clone(),
                        }),
                        rule: Rule::UnusedDecomposition,
                    })
                })
            }
            other => Some(ImportNote::plain(import_finding(other.to_string()))),
        })
        .collect();
    Loaded::Spec(Box::new(import.spec), notes)
}

/// Turtle: the importer's warnings become `import` findings; one about an element with
/// no flows is left to the verifier's path errors on that element.
fn load_turtle(text: &str, base: &str) -> Loaded {
    let import = match knhk_turtle::import(text, Some(base)) {
        Ok(import) => import,
        Err(err) => return Loaded::Unreadable(err.to_string()),
    };
    let notes = import
        .warnings
        .iter()
        .map(|warning| {
            let covered_by = match warning {
                knhk_turtle::ImportWarning::Unconnected { element } => {
                    element_with_iri(&import.spec, &import.iris, element)
                }
                _ => None,
            };
            ImportNote {
                finding: import_finding(warning.to_string()),
                covered_by,
            }
        })
        .collect();
    Loaded::Spec(Box::new(import.spec), notes)
}

/// The net and element whose IRI is `iri`.
fn element_with_iri(
    spec: &Specification,
    iris: &knhk_turtle::Iris,
    iri: &str,
) -> Option<(String, Element)> {
    spec.nets.iter().find_map(|net| {
        let is = |id: &str| iris.element(&net.id, id) == Some(iri);
        let task = net
            .tasks
            .iter()
            .find(|t| is(&t.id))
            .map(|t| Element::Task { id: t.id.clone() });
        let condition = || {
            net.all_conditions()
                .find(|c| is(&c.id))
                .map(|c| Element::Condition { id: c.id.clone() })
        };
        task.or_else(condition).map(|e| (net.id.clone(), e))
    })
}

/// An importer's warning with no finer rule.
fn import_finding(message: String) -> Finding {
    Finding {
        net: None,
        element: None,
        rule: Rule::Import { message },
    }
}

/// JSON: a document that reads but breaks the model's rules is still verified, so that
/// every problem is reported with the verifier's rules.
fn load_json(text: &str) -> Loaded {
    match knhk_json::parse(text) {
        Ok(valid) => Loaded::Spec(Box::new(valid.into_inner()), Vec::new()),
        Err(knhk_json::JsonError::Invalid(_)) => match serde_json::from_str(text) {
            Ok(spec) => Loaded::Spec(Box::new(spec), Vec::new()),
            Err(err) => Loaded::Unreadable(err.to_string()),
        },
        Err(err) => Loaded::Unreadable(err.to_string()),
    }
}
