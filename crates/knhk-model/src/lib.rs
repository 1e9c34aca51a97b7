//! The specification model of knhk: what a YAWL workflow *is*, independent of how it
//! was written down and of how it runs.
//!
//! A [`Specification`] holds nets (one of them the root); a [`Net`] holds an input and
//! an output [`Condition`], further conditions, [`Task`]s, [`Flow`]s and net
//! [`Variable`]s. The model is plain data with serde derives: its JSON rendering is the
//! canonical specification format (`docs/spec-format.md`).
//!
//! This crate owns *structural* validation ([`validate`]): everything that must hold
//! for a net to be compiled and executed at all (references resolve, split rules, MI
//! bounds, identifiers at most [`ID_BYTES_MAX`] bytes without control characters, free
//! text at most [`TEXT_BYTES_MAX`] bytes without NUL: [`check_name`], [`check_text`],
//! which the runtime and server apply to the names they receive). Deeper checks (every element on a path from input to output, soundness)
//! belong to the verifier. Expressions are opaque strings here; the [`Evaluator`] trait
//! says how they are compiled and run, and `knhk-expr` implements it.
//!
//! ```
//! use knhk_model::{validate, Specification};
//! let spec: Specification = serde_json::from_value(serde_json::json!({
//!     "id": "hello", "root_net": "main",
//!     "nets": [{
//!         "id": "main",
//!         "input_condition": {"id": "i"}, "output_condition": {"id": "o"},
//!         "tasks": [{"id": "greet", "kind": "atomic"}],
//!         "flows": [{"from": "i", "to": "greet"}, {"from": "greet", "to": "o"}]
//!     }]
//! })).unwrap();
//! let valid = validate(spec).unwrap();
//! assert_eq!(valid.root().tasks.len(), 1);
//! ```

mod expression;
mod spec;
mod text;
mod validate;

pub use expression::{Evaluator, ExprBound, ExprError, Expression, Scope};
pub use spec::*;
pub use text::{
    EXCERPT_CHARS, ID_BYTES_MAX, NameProblem, TEXT_BYTES_MAX, check_name, check_text, excerpt,
    excerpt_chars,
};
pub use validate::{SpecProblem, ValidSpec, implicit_condition_id, validate};
