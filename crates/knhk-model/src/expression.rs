//! The seam between the model and an expression language.
//!
//! Predicates, mappings, MI splitting queries and completion conditions are source
//! strings in the model. The kernel compiles each one once, through an [`Evaluator`],
//! into an [`Expression`] it can run many times. Keeping the trait here (and the
//! implementation in `knhk-expr`) lets every crate share one notion of "expression"
//! without depending on a particular language (ripgrep's `grep-matcher` split).

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// Compiles expression source text.
pub trait Evaluator: Send + Sync {
    /// Parses and checks `source`, returning a program that can be evaluated many times.
    fn compile(&self, source: &str) -> Result<Arc<dyn Expression>, ExprError>;
}

/// A compiled expression.
pub trait Expression: Send + Sync + fmt::Debug {
    /// The source text the expression was compiled from.
    fn source(&self) -> &str;

    /// Evaluates the expression in `scope`.
    fn evaluate(&self, scope: &Scope<'_>) -> Result<Value, ExprError>;
}

/// The variables an expression sees.
///
/// Every top-level field of `data` (the net's data, a JSON object) is a variable, and
/// so is each entry of `bindings` (such as `output` for a completing work item or
/// `item` for one element of an MI split). A binding hides a data field of the same
/// name. `data` itself is also bound, so that fields whose names are not identifiers
/// stay reachable as `data["odd-name"]`.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The net's data (an object; anything else binds no fields).
    pub data: &'a Value,
    /// Extra named values.
    pub bindings: &'a [(&'a str, &'a Value)],
}

impl<'a> Scope<'a> {
    /// A scope of net data alone.
    pub fn data(data: &'a Value) -> Self {
        Scope {
            data,
            bindings: &[],
        }
    }
}

/// Why an expression could not be compiled or evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExprError {
    /// The source text is not a valid expression.
    #[error("cannot parse expression `{source_text}`: {message}")]
    Parse {
        /// The expression's source.
        source_text: String,
        /// What the parser said.
        message: String,
    },
    /// Evaluation failed (unknown variable, type mismatch, ...).
    #[error("cannot evaluate expression `{source_text}`: {message}")]
    Evaluate {
        /// The expression's source.
        source_text: String,
        /// What went wrong.
        message: String,
    },
}
