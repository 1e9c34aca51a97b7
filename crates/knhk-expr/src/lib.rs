//! CEL expressions for knhk: flow predicates, data mappings, MI splitting queries and
//! completion conditions, written in the Common Expression Language.
//!
//! This crate owns one implementation of [`knhk_model::Evaluator`], [`CelEvaluator`]:
//! parsing CEL, binding a [`Scope`] as CEL variables, and converting values between JSON
//! and CEL. The trait itself lives in `knhk-model`; when an expression runs, and with
//! which data, is the kernel's and the runtime's business.
//!
//! Data flow: [`Evaluator::compile`] parses the source once into a cel `Program` and
//! notes the variables it references; each [`Expression::evaluate`] binds just those
//! variables from the scope, runs the program and converts the result back to JSON.
//! A referenced name resolves, in order of precedence, to a binding of that name (the
//! last one if repeated), to the whole net data for `data`, or to the top-level field of
//! the net data with that name; a name found nowhere fails the evaluation only if the
//! program actually reads it (`false && missing` is `false`). Only identifiers can be
//! referenced, so fields whose names are not CEL identifiers, and a field named `data`,
//! are reached through `data`: `data["odd-name"]`.
//!
//! Why CEL: it is side-effect free and not Turing-complete (no loops, no recursion,
//! comprehensions only over finite lists and maps), so every predicate and mapping
//! terminates and cannot touch the engine; its C-like syntax reads naturally for
//! conditions such as `amount > 100 && customer.vip`. The `cel` crate is maintained and
//! is the successor of `cel-interpreter`. Full scripting languages (rhai) would give
//! mappings loops and state, and the Rust JSONata port is incomplete. Note that CEL
//! bounds time only by the size of expression and data: a nested comprehension over a
//! large list is quadratic.
//!
//! Bounds: no expression may crash the process. Before cel sees a source,
//! [`ExprLimits`] bound its length and its *nesting bound*, a lexical upper bound on how
//! deeply cel's parser, evaluator and `Drop` recurse ([`nesting_bound`]; `bounds.rs` says
//! what is counted, why it bounds the depth, and the stack measured at the limits). A
//! panic inside cel (compiling, evaluating or converting values) is caught and becomes
//! [`ExprError::Internal`]; the panic hook still prints it. Errors quote at most a short
//! prefix of the source ([`ExprError::source_excerpt`]) and of cel's message. Data is
//! converted recursively too: its depth is the kernel's to bound (`Limits::data_depth_max`).
//!
//! Order: cel keeps maps in hash maps seeded at random, so a comprehension over a map
//! (`m.map(k, ..)`, `m.filter(k, ..)`, `m.all(k, ..)`) would visit its keys in a different
//! order from one evaluation to the next, and its `+` would append a map's keys to a list
//! in that order. Each expression is rewritten at compile time so that comprehensions
//! visit a map's keys in order and `+` refuses a map, as CEL does (`order.rs`): an
//! expression gives the same value every time it runs on the same data, as replay
//! requires.
//!
//! Type mapping between JSON and CEL: JSON integers are `int` (or `uint` above
//! `i64::MAX`), other numbers `double`, arrays `list`, objects `map` with `string` keys.
//! Results convert back the same way; `bytes`, non-finite doubles and values with no
//! JSON form are evaluation errors (see `convert.rs`).
//!
//! ```
//! use knhk_model::{Evaluator, Scope};
//! use knhk_expr::CelEvaluator;
//! use serde_json::json;
//!
//! # fn main() -> Result<(), knhk_model::ExprError> {
//! let evaluator = CelEvaluator::default();
//! let approve = evaluator.compile("amount > 100 && customer.startsWith('ACME')")?;
//!
//! let data = json!({"amount": 250, "customer": "ACME Corp"});
//! assert_eq!(approve.evaluate(&Scope::data(&data))?, json!(true));
//!
//! // A binding hides the data field of the same name.
//! let small = json!(20);
//! let scope = Scope { data: &data, bindings: &[("amount", &small)] };
//! assert_eq!(approve.evaluate(&scope)?, json!(false));
//! # Ok(())
//! # }
//! ```

mod bounds;
mod convert;
mod order;

use std::any::Any;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use cel::common::ast::IdedExpr;
use cel::{Context, Env, ParseErrors};
use knhk_model::{Evaluator, ExprError, Expression, Scope, excerpt_chars};
use serde_json::Value;

pub use bounds::{LEVEL_WEIGHT, nesting_bound};

/// How many characters of a message from cel an error quotes: a parse error can name a
/// long token, an evaluation error a large value.
const MESSAGE_CHARS: usize = 400;

/// Bounds on the expressions a [`CelEvaluator`] compiles, checked on the source before
/// it is parsed; a source beyond one is refused with [`ExprError::TooLarge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExprLimits {
    /// The longest source, in bytes. Default 16,384: the corpus's longest expression has
    /// a few hundred bytes, and cel's parser takes about 5 µs per byte of a flat list
    /// (release), so a source at the bound parses in under 100 ms.
    pub bytes_max: usize,
    /// The largest [`nesting_bound`] of a source. Default 256: the worst expression at
    /// this bound needs at most 367 KB of stack, under a fifth of a 2 MiB thread stack
    /// (tokio's default for its workers), in test and release builds; `bounds.rs` has the
    /// measurements. The corpus's largest nesting bound is 67.
    pub nesting_max: usize,
}

impl Default for ExprLimits {
    fn default() -> Self {
        ExprLimits {
            bytes_max: 16 * 1024,
            nesting_max: 256,
        }
    }
}

/// Compiles CEL source text into [`Expression`]s.
///
/// Holds CEL's standard environment (operators, `size`, `contains`, `startsWith`,
/// `endsWith`, `matches`, conversions such as `int()` and `string()`, and the macros
/// `has`, `all`, `exists`, `exists_one`, `map`, `filter`), built once and shared by
/// every expression it compiles, and the [`ExprLimits`] it compiles within. Cloning is
/// cheap.
#[derive(Clone)]
pub struct CelEvaluator {
    env: Arc<Env>,
    limits: ExprLimits,
}

impl CelEvaluator {
    /// An evaluator over CEL's standard environment, with the default [`ExprLimits`].
    pub fn new() -> Self {
        Self::with_limits(ExprLimits::default())
    }

    /// An evaluator over CEL's standard environment that compiles only sources within
    /// `limits`. Raising them past the defaults risks overflowing the stack of the
    /// threads that compile and evaluate.
    pub fn with_limits(limits: ExprLimits) -> Self {
        let mut env = Env::stdlib();
        order::declare(&mut env);
        CelEvaluator {
            env: Arc::new(env),
            limits,
        }
    }

    /// The bounds this evaluator compiles within.
    pub fn limits(&self) -> ExprLimits {
        self.limits
    }
}

impl Default for CelEvaluator {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for CelEvaluator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CelEvaluator")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Evaluator for CelEvaluator {
    fn compile(&self, source: &str) -> Result<Arc<dyn Expression>, ExprError> {
        bounds::check(source, self.limits)?;
        let (program, variables) = guard(source, || {
            let mut program =
                self.env
                    .parser()
                    .parse(source)
                    .map_err(|errors| ExprError::Parse {
                        source_text: ExprError::source_excerpt(source),
                        message: parse_message(&errors),
                    })?;
            order::sort_map_ranges(&mut program);
            let mut variables: Vec<String> = program
                .references()
                .variables()
                .into_iter()
                .map(str::to_owned)
                .collect();
            // The reference set is a hash set: sort it so binding order is reproducible.
            variables.sort_unstable();
            Ok((program, variables))
        })?;
        Ok(Arc::new(CelExpression {
            source: source.to_owned(),
            env: Arc::clone(&self.env),
            program,
            variables: variables.into_boxed_slice(),
        }))
    }
}

/// cel's parse errors as one line each (`line:column: message`), joined by `; `, cut to
/// [`MESSAGE_CHARS`]. cel's own `Display` quotes the whole source line and underlines
/// the column with a padded `^`, which for a long line is as long as the line (and
/// panics past column 65,535).
fn parse_message(errors: &ParseErrors) -> String {
    let lines: Vec<String> = errors
        .errors
        .iter()
        .map(|e| format!("{}:{}: {}", e.pos.0, e.pos.1, e.msg))
        .collect();
    excerpt_chars(&lines.join("; "), MESSAGE_CHARS).into_owned()
}

/// Runs `work` (a call into cel) and turns a panic into [`ExprError::Internal`].
///
/// `AssertUnwindSafe` is sound here: `work` only reads what it shares (the environment,
/// a compiled program, the scope's data) and builds its own values, which unwinding
/// drops. The one state cel shares between calls is antlr4rust's global DFA cache of its
/// parser, behind `parking_lot` locks, which do not poison, and which only gains states
/// computed from the grammar: an interrupted parse leaves it with fewer states, not wrong
/// ones. The panic hook still reports the panic (to stderr by default).
fn guard<T>(source: &str, work: impl FnOnce() -> Result<T, ExprError>) -> Result<T, ExprError> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|payload| {
        Err(ExprError::Internal {
            source_text: ExprError::source_excerpt(source),
            message: panic_message(payload.as_ref()),
        })
    })
}

/// The message a panic carried, if it was text.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    let message = if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.as_str()
    } else {
        "a panic without a message"
    };
    format!("panicked: {}", excerpt_chars(message, MESSAGE_CHARS))
}

/// A parsed CEL program (its comprehensions' ranges in order: `order.rs`) and the
/// variables it references.
struct CelExpression {
    source: String,
    env: Arc<Env>,
    program: IdedExpr,
    variables: Box<[String]>,
}

impl CelExpression {
    fn error(&self, message: String) -> ExprError {
        ExprError::Evaluate {
            source_text: ExprError::source_excerpt(&self.source),
            message: excerpt_chars(&message, MESSAGE_CHARS).into_owned(),
        }
    }
}

impl fmt::Debug for CelExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CelExpression")
            .field("source", &self.source)
            .field("variables", &self.variables)
            .finish_non_exhaustive()
    }
}

impl Expression for CelExpression {
    fn source(&self) -> &str {
        &self.source
    }

    fn evaluate(&self, scope: &Scope<'_>) -> Result<Value, ExprError> {
        guard(&self.source, || {
            let mut context = Context::with_env(Arc::clone(&self.env));
            for name in &self.variables {
                if let Some(value) = lookup(scope, name) {
                    let value = convert::to_cel(value)
                        .map_err(|message| self.error(format!("variable `{name}`: {message}")))?;
                    context.add_variable_as_val(name.as_str(), value);
                }
            }
            let result = cel::Value::resolve(&self.program, &context)
                .map_err(|error| self.error(error.to_string()))?;
            convert::to_json(&result).map_err(|message| self.error(format!("result: {message}")))
        })
    }
}

/// The value `name` refers to in `scope`: a binding, then `data` itself, then a field.
fn lookup<'a>(scope: &Scope<'a>, name: &str) -> Option<&'a Value> {
    if let Some((_, value)) = scope.bindings.iter().rev().find(|(n, _)| *n == name) {
        return Some(value);
    }
    if name == "data" {
        return Some(scope.data);
    }
    scope.data.as_object()?.get(name)
}

#[cfg(test)]
mod tests;
