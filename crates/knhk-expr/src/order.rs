//! Map comprehensions in a defined order.
//!
//! cel keeps a map's entries in a `HashMap` with std's randomly seeded hasher, and a
//! comprehension over a map (`m.map(k, ..)`, `m.filter(k, ..)`, `m.all(k, ..)`, ...)
//! visits its keys in that map's hash order, which differs from one map to the next even
//! in one process. So `{'a': 1, 'b': 2}.map(k, k)` gave `["a", "b"]` or `["b", "a"]`,
//! and a mapping or predicate built on it gave different data, or took a different
//! branch, when the runtime replayed the command that first ran it: the recovered case
//! was not the acknowledged one. (Found by the `data_mapping` fuzz target.)
//!
//! cel's `+` iterates a map too: `[1] + {'a': 1, 'b': 2}` appended the map's keys in hash
//! order (CEL itself defines no `+` with a map).
//!
//! The fix is a rewrite of the parsed expression:
//! - the range of every comprehension goes through [`SORTED_RANGE`], a function that
//!   turns a map into the list of its keys in order (integers, then unsigned integers,
//!   then booleans, then strings, as cel's key order goes; each by value) and returns
//!   anything else unchanged. Iterating a map visits its keys, so the iteration variable
//!   sees the same values as before, in a defined order, and a range that is not
//!   iterable still fails as it did;
//! - the right operand of every `+` that could be a map (anything but a literal) goes
//!   through [`ADDEND`], which refuses a map, as CEL does, and returns anything else
//!   unchanged. A list literal is left as it is, so the `@result + [x]` step of `map` and
//!   `filter` keeps the shape cel recognises to append in place.

use cel::Env;
use cel::ExecutionError;
use cel::common::ast::{CallExpr, EntryExpr, Expr, IdedExpr, operators};
use cel::common::types::{CelList, CelMap, DYN_TYPE};
use cel::common::value::{CowVal, Val};

/// The function the rewrite calls: its name cannot be written in CEL source, so no
/// expression can call or shadow it.
pub(crate) const SORTED_RANGE: &str = "@knhk.sorted_range";

/// The function the rewrite wraps the right operand of `+` in.
pub(crate) const ADDEND: &str = "@knhk.addend";

/// Declares [`SORTED_RANGE`] and [`ADDEND`] in `env`.
pub(crate) fn declare(env: &mut Env) {
    // The names are new to a standard environment: these cannot collide.
    let _declared = env.add_overload(SORTED_RANGE, "knhk_sorted_range", vec![DYN_TYPE], sorted);
    let _declared = env.add_overload(ADDEND, "knhk_addend", vec![DYN_TYPE], addend);
}

/// Any value but a map, unchanged; a map is refused.
fn addend<'b, 'v>(mut args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let Some(operand) = args.pop() else {
        return Err(ExecutionError::function_error(
            ADDEND,
            "expects one argument",
        ));
    };
    if operand.downcast_ref::<CelMap>().is_some() {
        return Err(ExecutionError::function_error(
            operators::ADD,
            "a map cannot be added (CEL adds numbers, strings, bytes and lists)",
        ));
    }
    Ok(operand)
}

/// The keys of a map, in order, as a list; any other value as it is.
fn sorted<'b, 'v>(mut args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let Some(range) = args.pop() else {
        return Err(ExecutionError::function_error(
            SORTED_RANGE,
            "expects one argument",
        ));
    };
    let Some(map) = range.downcast_ref::<CelMap>() else {
        return Ok(range);
    };
    let mut keys: Vec<_> = map.inner().keys().collect();
    keys.sort_unstable();
    let keys: Vec<Box<dyn Val + 'v>> = keys
        .into_iter()
        .map(|key| key.inner().clone_as_boxed())
        .collect();
    Ok(CowVal::owned(CelList::from(keys)))
}

/// Rewrites every comprehension of `expression` to iterate over its range through
/// [`SORTED_RANGE`], and every `+` to take its right operand through [`ADDEND`] unless it
/// is a literal. Iterative: the parser bounds the depth of what it returns, not this
/// walk's.
pub(crate) fn sort_map_ranges(expression: &mut IdedExpr) {
    let mut stack: Vec<&mut IdedExpr> = vec![expression];
    while let Some(node) = stack.pop() {
        match &mut node.expr {
            Expr::Comprehension(comprehension) => {
                let comprehension = &mut **comprehension;
                // A two-variable comprehension binds a map's keys and values; the
                // standard macros make none, and such a range is left alone.
                if comprehension.iter_var2.is_none() {
                    let range = std::mem::take(&mut comprehension.iter_range);
                    comprehension.iter_range = IdedExpr {
                        id: range.id,
                        expr: Expr::Call(CallExpr {
                            func_name: SORTED_RANGE.to_owned(),
                            target: None,
                            args: vec![range],
                        }),
                    };
                }
                stack.push(&mut comprehension.iter_range);
                stack.push(&mut comprehension.accu_init);
                stack.push(&mut comprehension.loop_cond);
                stack.push(&mut comprehension.loop_step);
                stack.push(&mut comprehension.result);
            }
            Expr::Call(call) => {
                if call.func_name == operators::ADD
                    && call.target.is_none()
                    && let [_, right] = call.args.as_mut_slice()
                    && !matches!(right.expr, Expr::List(_) | Expr::Literal(_))
                {
                    let operand = std::mem::take(right);
                    *right = IdedExpr {
                        id: operand.id,
                        expr: Expr::Call(CallExpr {
                            func_name: ADDEND.to_owned(),
                            target: None,
                            args: vec![operand],
                        }),
                    };
                }
                if let Some(target) = &mut call.target {
                    stack.push(target);
                }
                stack.extend(call.args.iter_mut());
            }
            Expr::List(list) => stack.extend(list.elements.iter_mut()),
            Expr::Map(map) => {
                for entry in &mut map.entries {
                    if let EntryExpr::MapEntry(entry) = &mut entry.expr {
                        stack.push(&mut entry.key);
                        stack.push(&mut entry.value);
                    }
                }
            }
            Expr::Struct(structure) => {
                for entry in &mut structure.entries {
                    match &mut entry.expr {
                        EntryExpr::StructField(field) => stack.push(&mut field.value),
                        EntryExpr::MapEntry(entry) => {
                            stack.push(&mut entry.key);
                            stack.push(&mut entry.value);
                        }
                    }
                }
            }
            Expr::Select(select) => stack.push(&mut select.operand),
            Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
        }
    }
}
