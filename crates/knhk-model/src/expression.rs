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
///
/// `source_text` is the expression's source as [`crate::excerpt`] quotes it: whole when
/// short, else its first [`crate::EXCERPT_CHARS`] characters and `…`; build it with
/// [`ExprError::source_excerpt`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExprError {
    /// The source text is not a valid expression.
    #[error("cannot parse expression `{source_text}`: {message}")]
    Parse {
        /// The expression's source (an excerpt).
        source_text: String,
        /// What the parser said.
        message: String,
    },
    /// Evaluation failed (unknown variable, type mismatch, ...).
    #[error("cannot evaluate expression `{source_text}`: {message}")]
    Evaluate {
        /// The expression's source (an excerpt).
        source_text: String,
        /// What went wrong.
        message: String,
    },
    /// The source exceeds one of the evaluator's bounds, checked before it is parsed.
    #[error("expression `{source_text}` is too large: its {bound} is {found}, more than {max}")]
    TooLarge {
        /// The expression's source (an excerpt).
        source_text: String,
        /// Which bound.
        bound: ExprBound,
        /// The source's measure.
        found: usize,
        /// The bound.
        max: usize,
    },
    /// The expression library failed in itself (it panicked) on this expression: not a
    /// fault of the expression, and nothing a caller can correct by retrying.
    #[error("internal error of the expression library on `{source_text}`: {message}")]
    Internal {
        /// The expression's source (an excerpt).
        source_text: String,
        /// What the library said.
        message: String,
    },
}

impl ExprError {
    /// `source` as errors quote it: whole when short, else a prefix and `…`.
    pub fn source_excerpt(source: &str) -> String {
        crate::excerpt(source).into_owned()
    }
}

/// A bound an evaluator puts on expression sources before parsing them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExprBound {
    /// The length of the source in bytes.
    Bytes,
    /// The source's nesting bound: an upper bound, computed from its tokens, on how
    /// deeply the parser and evaluator recurse (`knhk-expr` defines it exactly).
    Nesting,
}

impl fmt::Display for ExprBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExprBound::Bytes => "length in bytes",
            ExprBound::Nesting => "nesting bound",
        })
    }
}
