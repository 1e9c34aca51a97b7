//! Reading a specification in any of knhk's formats and checking it: the one path from
//! text to a verified model that the CLI (`knhk workflow validate`) and the server
//! (`POST /workflows`) share.
//!
//! Owns format detection (by file extension or content type, else by the first
//! character), the importers' warnings as verification findings, and merging them with
//! the verifier's report so that nothing is reported twice. Leaves the formats to their
//! crates and the rules to `knhk-verify`.
//!
//! ```
//! use knhk_ingest::{Format, check};
//!
//! let text = r#"{"id": "empty", "root_net": "main", "nets": []}"#;
//! let checked = check(Format::Json, text, "file:///spec.json", &Default::default());
//! assert!(checked.report.has_errors());
//! assert!(checked.valid().is_none());
//! ```

mod format;

pub use format::{Format, detect, detect_content_type};

use knhk_model::{Specification, ValidSpec};
use knhk_verify::{Finding, Report, VerifyOptions};

use format::Loaded;

/// How to check a specification.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Load a YAWL file even where an expression cannot be translated (a warning).
    pub lenient: bool,
    /// The most elements (see [`elements`]) a specification may have: a larger one is
    /// refused as soon as it is read, before the verifier spends time on it.
    pub elements_max: Option<usize>,
    /// The verifier's options (soundness, its state budget, whether unsound is an error).
    pub verify: VerifyOptions,
}

/// A specification refused for its size before verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    /// Its elements.
    pub elements: usize,
    /// The limit.
    pub max: usize,
}

/// The elements of `spec` that its verification and compiled form grow with: tasks,
/// conditions, flows and variables over all nets.
pub fn elements(spec: &Specification) -> usize {
    spec.nets
        .iter()
        .map(|n| n.tasks.len() + n.conditions.len() + n.flows.len() + n.variables.len())
        .sum()
}

/// What checking a text gave.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The format it was read as.
    pub format: Format,
    /// The specification, if the text could be read as one (even with errors).
    pub spec: Option<Specification>,
    /// Every error and warning: the importer's first, then the verifier's.
    pub report: Report,
    /// Set when the specification was refused for its size, unverified.
    pub too_large: Option<TooLarge>,
}

impl Checked {
    /// The specification, validated, if it has no error.
    pub fn valid(&self) -> Option<ValidSpec> {
        if self.report.has_errors() || self.too_large.is_some() {
            return None;
        }
        knhk_model::validate(self.spec.clone()?).ok()
    }
}

/// Reads `text` in `format` and verifies it; `base` is the base IRI for Turtle.
pub fn check(format: Format, text: &str, base: &str, options: &CheckOptions) -> Checked {
    match format::load(format, text, base, options.lenient) {
        Loaded::Spec(spec, import_warnings) => {
            let elements = elements(&spec);
            if let Some(max) = options.elements_max.filter(|max| elements > *max) {
                return Checked {
                    format,
                    spec: None,
                    report: Report::default(),
                    too_large: Some(TooLarge { elements, max }),
                };
            }
            let mut report = knhk_verify::verify(&spec, &options.verify);
            // What only the importer knows comes first, as the file is read first;
            // a warning that a verifier error repeats is left out.
            let verified = std::mem::take(&mut report.warnings);
            let covered = |(net, element): &(String, knhk_verify::Element)| {
                report
                    .errors
                    .iter()
                    .any(|e| e.net.as_ref() == Some(net) && e.element.as_ref() == Some(element))
            };
            let imported: Vec<Finding> = import_warnings
                .into_iter()
                .filter(|note| !note.covered_by.as_ref().is_some_and(covered))
                .map(|note| note.finding)
                .collect();
            report.warnings = imported.into_iter().chain(verified).collect();
            Checked {
                format,
                spec: Some(*spec),
                report,
                too_large: None,
            }
        }
        Loaded::Unreadable(message) => {
            let finding = Finding {
                net: None,
                element: None,
                rule: knhk_verify::Rule::Read { message },
            };
            Checked {
                format,
                spec: None,
                report: Report {
                    errors: vec![finding],
                    ..Report::default()
                },
                too_large: None,
            }
        }
    }
}
