//! YAWL XML import: reads a YAWL specification file, in either of YAWL's dialects,
//! into knhk's [`Specification`] model, translating its XPath predicates and XQuery
//! mappings to CEL.
//!
//! This crate owns the YAWL XML format: its two namespaces
//! (`http://www.yawlfoundation.org/yawlschema` for schema 2.0 to 4.0, where nets are
//! `NetFactsType` decompositions and net data is the document `/<netId>`; and the
//! Beta namespace `http://www.citi.qut.edu.au/yawl`, with `<rootNet>` and net data
//! `/data`), the mapping of its elements onto the model, and the translation of its
//! data expressions ([`XPathError`] says why one could not be translated). It does not
//! validate the result: [`knhk_model::validate`] checks structure and the verifier
//! checks soundness, both on the [`Specification`] this crate returns, so that a file
//! YAWL's own verifier would reject still imports and can be reported on.
//!
//! Data flow: [`import`] parses the XML with `roxmltree`, reads the first
//! specification's decompositions, builds one [`knhk_model::Net`] per net
//! decomposition (tasks, conditions, flows, variables), and translates each
//! expression with a small hand-written XPath/XQuery parser (there is no XQuery
//! engine in Rust, and YAWL files use a regular subset). `docs/yawl-import.md`
//! lists what maps to what and which expressions translate.
//!
//! Design decision: an expression that cannot be translated is an error naming the
//! net, task, flow and expression, unless [`ImportOptions::lenient`] is set; then the
//! import succeeds with an [`ImportWarning::Untranslated`] and a stand-in expression
//! (a CEL string quoting the original) that makes the gap visible when the case runs:
//! a predicate or split fails naming the XPath, rather than silently choosing a
//! branch.
//!
//! ```
//! use knhk_yawl::{import, ImportOptions};
//!
//! let xml = r#"<specificationSet xmlns="http://www.yawlfoundation.org/yawlschema"
//!     xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="4.0">
//!   <specification uri="hello">
//!     <metaData/>
//!     <decomposition id="Net" isRootNet="true" xsi:type="NetFactsType">
//!       <localVariable><index>0</index><name>n</name><type>int</type>
//!         <namespace>http://www.w3.org/2001/XMLSchema</namespace>
//!         <initialValue>3</initialValue></localVariable>
//!       <processControlElements>
//!         <inputCondition id="i"><flowsInto><nextElementRef id="A"/></flowsInto></inputCondition>
//!         <task id="A">
//!           <flowsInto><nextElementRef id="o"/>
//!             <predicate ordering="0">/Net/n/text() &gt; 2</predicate></flowsInto>
//!           <flowsInto><nextElementRef id="B"/><isDefaultFlow/></flowsInto>
//!           <join code="xor"/><split code="xor"/>
//!         </task>
//!         <task id="B">
//!           <flowsInto><nextElementRef id="o"/></flowsInto>
//!           <join code="xor"/><split code="and"/>
//!         </task>
//!         <outputCondition id="o"/>
//!       </processControlElements>
//!     </decomposition>
//!   </specification>
//! </specificationSet>"#;
//!
//! let imported = import(xml, &ImportOptions::default()).unwrap();
//! let net = &imported.spec.nets[0];
//! assert_eq!(net.flows[1].predicate.as_deref(), Some("n > 2"));
//! assert_eq!(net.variables[0].initial, Some(serde_json::json!(3)));
//! assert!(imported.warnings.is_empty());
//! knhk_model::validate(imported.spec).unwrap();
//! ```

mod data;
mod duration;
mod error;
mod import;
mod net;
mod task;
mod xml;
mod xpath;

use std::path::Path;

pub use error::{Fallback, FlowRef, ImportWarning, Site, TimerIssue, Untranslated, YawlError};
pub use knhk_model::Specification;
pub use xpath::XPathError;

/// How to import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Import even where an expression cannot be translated (or an initial value does
    /// not fit its type), reporting each as an [`ImportWarning`] instead of failing.
    pub lenient: bool,
}

impl ImportOptions {
    /// Strict: untranslatable expressions are errors (the default).
    pub fn strict() -> Self {
        ImportOptions { lenient: false }
    }

    /// Lenient: untranslatable expressions are warnings.
    pub fn lenient() -> Self {
        ImportOptions { lenient: true }
    }
}

/// A successful import: the specification (not yet validated) and what was noticed.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// The specification.
    pub spec: Specification,
    /// What the import worked around, in document order within each kind.
    pub warnings: Vec<ImportWarning>,
}

/// Imports YAWL XML text.
pub fn import(xml: &str, options: &ImportOptions) -> Result<Import, YawlError> {
    import::import(xml, options)
}

/// Imports the YAWL file at `path`.
pub fn import_file(path: impl AsRef<Path>, options: &ImportOptions) -> Result<Import, YawlError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| YawlError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    import(&text, options)
}
