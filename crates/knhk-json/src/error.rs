//! What can go wrong reading a specification: the text does not deserialize into the
//! model ([`JsonError::Syntax`]), or the model breaks its rules ([`JsonError::Invalid`]).
//!
//! The two are kept apart because callers react differently: a syntax error has one
//! location to point at, an invalid specification has a list of problems to show.

use std::fmt;

use knhk_model::SpecProblem;
use serde_path_to_error::{Path, Segment};

/// Why a JSON document is not a valid specification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The document does not deserialize into a specification: malformed or truncated
    /// JSON, a value of the wrong type, an unknown field or enum value, a missing
    /// required field, or text after the document.
    #[error("{}", Location { path, line: *line, column: *column, message })]
    Syntax {
        /// Where in the document, as a JSON path such as `nets[0].tasks[2].joni` (for
        /// an unknown field, the path ends with that field). Empty for the document
        /// itself.
        path: String,
        /// The line (from 1) where reading stopped; `None` when reading from a
        /// [`serde_json::Value`], which has no positions.
        line: Option<usize>,
        /// The column (from 1) where reading stopped; `None` as for `line`.
        column: Option<usize>,
        /// What is wrong, such as "unknown field `joni`, expected one of `id`, ...".
        message: String,
    },
    /// The document is a specification, but breaks the model's structural rules. Holds
    /// every problem found, at least one, in document order; displayed one per line.
    #[error("{}", Problems(.0))]
    Invalid(Vec<SpecProblem>),
}

impl JsonError {
    /// Wraps a serde_json error found at `path` (`None`: the document itself).
    pub(crate) fn syntax(path: Option<&Path>, err: &serde_json::Error) -> Self {
        // serde_json's Display appends " at line L column C" when it knows the
        // position; the position gets fields of its own here, so strip it.
        let (line, column) = (err.line(), err.column());
        let mut message = err.to_string();
        if line != 0 {
            let suffix = format!(" at line {line} column {column}");
            if let Some(stripped) = message.strip_suffix(&suffix) {
                message.truncate(stripped.len());
            }
        }
        let path = path.map(render_path).unwrap_or_default();
        let known = |n: usize| (line != 0).then_some(n);
        JsonError::Syntax {
            path,
            line: known(line),
            column: known(column),
            message,
        }
    }
}

/// Renders `path` as serde_path_to_error does (`nets[0].tasks[2].joni`), except that
/// the document itself is the empty string rather than `.`, and a trailing unknown
/// segment (reading stopped before a key was read, as in truncated JSON) is left out
/// rather than shown as `?`.
fn render_path(path: &Path) -> String {
    let mut segments: Vec<&Segment> = path.iter().collect();
    while segments
        .last()
        .is_some_and(|segment| matches!(segment, Segment::Unknown))
    {
        segments.pop();
    }
    let mut rendered = String::new();
    for segment in segments {
        match segment {
            Segment::Seq { index } => {
                rendered.push('[');
                rendered.push_str(&index.to_string());
                rendered.push(']');
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !rendered.is_empty() {
                    rendered.push('.');
                }
                rendered.push_str(key);
            }
            // A key that could not be read, inside the path: shown as `?`.
            Segment::Unknown => {
                if !rendered.is_empty() {
                    rendered.push('.');
                }
                rendered.push('?');
            }
        }
    }
    rendered
}

struct Location<'a> {
    path: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    message: &'a str,
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at_path = !self.path.is_empty();
        if at_path {
            write!(f, "at `{}`", self.path)?;
        }
        if let (Some(line), Some(column)) = (self.line, self.column) {
            let sep = if at_path { ", " } else { "at " };
            write!(f, "{sep}line {line}, column {column}")?;
        }
        if at_path || self.line.is_some() {
            f.write_str(": ")?;
        }
        f.write_str(self.message)
    }
}

struct Problems<'a>(&'a [SpecProblem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}
