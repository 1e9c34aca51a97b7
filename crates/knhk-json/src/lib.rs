//! The canonical JSON format of knhk specifications: reading a document into a
//! validated [`ValidSpec`] and writing a [`Specification`] back.
//!
//! This crate owns the text: syntax, types, unknown fields, and where in a document
//! each of those went wrong. It leaves structural rules (references resolve, split
//! rules, multiple-instance bounds) to [`knhk_model::validate`], and expressions to
//! `knhk-expr`: a predicate is a string here, checked when the kernel compiles the net.
//! The format itself is described field by field in `docs/spec-format.md`.
//!
//! Data flow: [`parse`] (a document's text) or [`from_value`] (an already parsed
//! [`serde_json::Value`], such as the `spec` of a `POST /workflows` body) deserialize a
//! [`Specification`], then validate it; either step's failure is a [`JsonError`].
//! [`to_string`] and [`to_value`] go the other way.
//!
//! The design decision to know: the format *is* the serde rendering of the model
//! types, with no separate layer of document types. The format cannot drift from the
//! model, and every change to a model type's serde shape is a change to this API
//! boundary. Writing is deterministic: fields come in the model's declaration order,
//! and fields at their default are left out, so `parse(to_string(spec))` gives `spec`
//! back exactly.
//!
//! ```
//! let text = r#"{
//!     "id": "hello", "root_net": "main",
//!     "nets": [{
//!         "id": "main",
//!         "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
//!         "tasks": [{"id": "greet", "kind": "atomic"}],
//!         "flows": [{"from": "i", "to": "greet"}, {"from": "greet", "to": "o"}]
//!     }]
//! }"#;
//! let spec = knhk_json::parse(text)?;
//! assert_eq!(spec.root().tasks[0].id, "greet");
//! assert_eq!(knhk_json::parse(&knhk_json::to_string(&spec))?, spec);
//!
//! // A misspelt field is reported with its path and position.
//! let err = knhk_json::parse(&text.replace("\"kind\"", "\"knid\"")).unwrap_err();
//! assert!(matches!(
//!     &err,
//!     knhk_json::JsonError::Syntax { path, line: Some(6), .. } if path == "nets[0].tasks[0].knid"
//! ));
//! # Ok::<(), knhk_json::JsonError>(())
//! ```

mod error;

pub use error::JsonError;

use knhk_model::{Specification, ValidSpec};
use serde_json::Value;

/// Reads a specification from JSON text and validates it.
///
/// Malformed or truncated JSON, a value of the wrong type and an unknown field give
/// [`JsonError::Syntax`], naming the JSON path and the line and column; a document that
/// reads but breaks the model's rules gives [`JsonError::Invalid`] with every problem.
pub fn parse(text: &str) -> Result<ValidSpec, JsonError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let spec: Specification = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|err| JsonError::syntax(Some(err.path()), err.inner()))?;
    // Anything after the document (a second document, stray text) is an error too.
    deserializer
        .end()
        .map_err(|err| JsonError::syntax(None, &err))?;
    validate(spec)
}

/// Reads a specification from an already parsed JSON value and validates it.
///
/// As [`parse`], except that a [`JsonError::Syntax`] has no line or column: a
/// [`Value`] does not remember where it was written.
pub fn from_value(value: Value) -> Result<ValidSpec, JsonError> {
    let spec: Specification = serde_path_to_error::deserialize(value)
        .map_err(|err| JsonError::syntax(Some(err.path()), err.inner()))?;
    validate(spec)
}

/// Writes a specification as pretty-printed JSON: fields in the model's declaration
/// order, fields at their default left out.
pub fn to_string(spec: &Specification) -> String {
    serde_json::to_string_pretty(spec).unwrap_or_else(|err| unreachable!("{}", unserializable(err)))
}

/// Renders a specification as a JSON value, as [`to_string`] would write it.
pub fn to_value(spec: &Specification) -> Value {
    serde_json::to_value(spec).unwrap_or_else(|err| unreachable!("{}", unserializable(err)))
}

fn validate(spec: Specification) -> Result<ValidSpec, JsonError> {
    knhk_model::validate(spec).map_err(JsonError::Invalid)
}

// Serializing a specification cannot fail: every map key is a string (struct fields
// and `Value` objects), and writing to memory does no I/O. A failure would mean a model
// type gained a serde shape JSON cannot hold, a broken invariant rather than bad input.
fn unserializable(err: serde_json::Error) -> String {
    format!("a specification always serializes to JSON: {err}")
}
