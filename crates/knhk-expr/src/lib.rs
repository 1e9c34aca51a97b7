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

mod convert;

use std::fmt;
use std::sync::Arc;

use cel::{Context, Env, Program};
use knhk_model::{Evaluator, ExprError, Expression, Scope};
use serde_json::Value;

/// Compiles CEL source text into [`Expression`]s.
///
/// Holds CEL's standard environment (operators, `size`, `contains`, `startsWith`,
/// `endsWith`, `matches`, conversions such as `int()` and `string()`, and the macros
/// `has`, `all`, `exists`, `exists_one`, `map`, `filter`), built once and shared by
/// every expression it compiles. Cloning is cheap.
#[derive(Clone)]
pub struct CelEvaluator {
    env: Arc<Env>,
}

impl CelEvaluator {
    /// An evaluator over CEL's standard environment.
    pub fn new() -> Self {
        CelEvaluator {
            env: Arc::new(Env::stdlib()),
        }
    }
}

impl Default for CelEvaluator {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for CelEvaluator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CelEvaluator").finish_non_exhaustive()
    }
}

impl Evaluator for CelEvaluator {
    fn compile(&self, source: &str) -> Result<Arc<dyn Expression>, ExprError> {
        let program = self
            .env
            .compile(source)
            .map_err(|errors| ExprError::Parse {
                source_text: source.to_owned(),
                message: errors.to_string(),
            })?;
        let mut variables: Vec<String> = program
            .references()
            .variables()
            .into_iter()
            .map(str::to_owned)
            .collect();
        // The reference set is a hash set: sort it so binding order is reproducible.
        variables.sort_unstable();
        Ok(Arc::new(CelExpression {
            source: source.to_owned(),
            env: Arc::clone(&self.env),
            program,
            variables: variables.into_boxed_slice(),
        }))
    }
}

/// A parsed CEL program and the variables it references.
struct CelExpression {
    source: String,
    env: Arc<Env>,
    program: Program,
    variables: Box<[String]>,
}

impl CelExpression {
    fn error(&self, message: String) -> ExprError {
        ExprError::Evaluate {
            source_text: self.source.clone(),
            message,
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
        let mut context = Context::with_env(Arc::clone(&self.env));
        for name in &self.variables {
            if let Some(value) = lookup(scope, name) {
                let value = convert::to_cel(value)
                    .map_err(|message| self.error(format!("variable `{name}`: {message}")))?;
                context.add_variable_as_val(name.as_str(), value);
            }
        }
        let result = self
            .program
            .execute(&context)
            .map_err(|error| self.error(error.to_string()))?;
        convert::to_json(&result).map_err(|message| self.error(format!("result: {message}")))
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
