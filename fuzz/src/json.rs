//! Bounded arbitrary JSON: values built from the fuzz input with `arbitrary`, nesting at
//! most [`DEPTH_MAX`] deep (past the kernel's default data bound of 32, so that the bound
//! itself is tried), with object keys and strings drawn mostly from the names the example
//! specifications use; and the depth measure the kernel bounds.

use arbitrary::{Arbitrary, Result, Unstructured};
use serde_json::{Map, Number, Value};

/// The deepest value [`Json`] builds (the value itself counts 1 when it is an array or
/// object).
pub const DEPTH_MAX: usize = 40;

/// Field names the example specifications, the template of `data_mapping` and the
/// engine's bindings use: data built from them reaches mappings and predicates.
pub const KEYS: &[&str] = &[
    "x",
    "y",
    "n",
    "items",
    "agg",
    "item",
    "output",
    "data",
    "amount",
    "customer",
    "total",
    "order",
    "sku",
    "quantity",
    "picked",
    "approved",
    "in",
    "out",
    "v",
    "ok",
    "count",
    "completed",
    "active",
    "outputs",
    "name",
    "id",
    "spec_id",
    "case_id",
    "worker",
    "lease_ms",
    "participants",
    "participant",
    "message",
    "task_id",
    "service",
    "max",
    "version",
];

/// Strings that mean something somewhere (names, ids, states, CEL and XPath fragments).
const STRINGS: &[&str] = &[
    "",
    "a",
    "ACME",
    "running",
    "completed",
    "enabled",
    "started",
    "1",
    "1-1",
    "17-3",
    "-1",
    "0",
    "true",
    "null",
    "1e400",
    "\u{0}",
    "\u{7f}",
    "é",
    "🙂",
    "x > 1",
    "/net/x/text()",
];

/// A JSON value built from fuzz input, at most [`DEPTH_MAX`] deep.
#[derive(Debug, Clone, PartialEq)]
pub struct Json(pub Value);

impl<'a> Arbitrary<'a> for Json {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        value(u, 0).map(Json)
    }
}

/// A JSON object built from fuzz input (launch data, work item output).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonObject(pub Map<String, Value>);

impl<'a> Arbitrary<'a> for JsonObject {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        object(u, 1).map(JsonObject)
    }
}

/// A value nested `depth` levels below the top.
pub fn value(u: &mut Unstructured<'_>, depth: usize) -> Result<Value> {
    let kinds = if depth >= DEPTH_MAX { 5 } else { 8 };
    Ok(match u.int_in_range(0..=kinds)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(i64::from(u.arbitrary::<i8>()?)),
        3 => Value::from(u.arbitrary::<i64>()?),
        4 => number(u)?,
        5 => Value::String(string(u)?),
        6 => {
            let len = u.int_in_range(0..=4)?;
            let mut items = Vec::with_capacity(len);
            for _ in 0..len {
                items.push(value(u, depth + 1)?);
            }
            Value::Array(items)
        }
        7 => Value::Object(object(u, depth + 1)?),
        _ => {
            // A chain of single-element containers: the only way random bytes reach
            // the depth bounds.
            let levels = u.int_in_range(1..=DEPTH_MAX - depth)?;
            let mut inner = value(u, depth + levels)?;
            for level in 0..levels {
                inner = if level % 2 == 0 {
                    Value::Array(vec![inner])
                } else {
                    let mut fields = Map::new();
                    fields.insert(key(u)?, inner);
                    Value::Object(fields)
                };
            }
            inner
        }
    })
}

fn object(u: &mut Unstructured<'_>, depth: usize) -> Result<Map<String, Value>> {
    let len = u.int_in_range(0..=4)?;
    let mut fields = Map::new();
    for _ in 0..len {
        let key = key(u)?;
        let value = if depth >= DEPTH_MAX {
            Value::Null
        } else {
            value(u, depth)?
        };
        fields.insert(key, value);
    }
    Ok(fields)
}

/// An object key: mostly a known name.
pub fn key(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(3, 4)? {
        Ok((*u.choose(KEYS)?).to_owned())
    } else {
        string(u)
    }
}

/// A string: sometimes a known one.
pub fn string(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1, 3)? {
        Ok((*u.choose(STRINGS)?).to_owned())
    } else {
        let text: &str = u.arbitrary()?;
        Ok(text.chars().take(64).collect())
    }
}

/// A finite number: an edge or an arbitrary double.
fn number(u: &mut Unstructured<'_>) -> Result<Value> {
    let edges = [
        Value::from(u64::MAX),
        Value::from(i64::MIN),
        Value::from(i64::MAX),
        Value::from(0.5),
        Value::from(-0.0),
        Value::from(1e300),
    ];
    if u.ratio(1, 2)? {
        return Ok(u.choose(&edges)?.clone());
    }
    let float: f64 = u.arbitrary()?;
    Ok(Number::from_f64(float).map_or(Value::Null, Value::Number))
}

/// How deeply arrays and objects nest in `value`: 0 for a scalar, 1 for an array or
/// object of scalars, as the kernel counts (`Limits::data_depth_max`). Iterative.
pub fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 1)];
    while let Some((value, level)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(fields) => Box::new(fields.values()),
            _ => continue,
        };
        deepest = deepest.max(level);
        stack.extend(children.map(|child| (child, level + 1)));
    }
    deepest
}

/// The number of nodes (values, containers included) of `value`.
pub fn nodes(value: &Value) -> usize {
    let mut count = 0;
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        count += 1;
        match value {
            Value::Array(items) => stack.extend(items.iter()),
            Value::Object(fields) => stack.extend(fields.values()),
            _ => {}
        }
    }
    count
}

/// The `index`-th node of `value` in pre-order (modulo the node count), mutably.
pub fn node_mut(value: &mut Value, index: usize) -> &mut Value {
    let path = path_to(value, index % nodes(value));
    let mut current = value;
    for step in path {
        current = match current {
            Value::Array(items) => &mut items[step],
            Value::Object(fields) => match fields.values_mut().nth(step) {
                Some(child) => child,
                None => unreachable!("the path was found in this value"),
            },
            _ => unreachable!("the path was found in this value"),
        };
    }
    current
}

/// The child indices that lead to the `target`-th node of `value` in pre-order.
fn path_to(value: &Value, mut target: usize) -> Vec<usize> {
    let mut path = Vec::new();
    let mut current = value;
    while target > 0 {
        target -= 1;
        let children: Vec<&Value> = match current {
            Value::Array(items) => items.iter().collect(),
            Value::Object(fields) => fields.values().collect(),
            _ => break,
        };
        let mut found = None;
        for (i, child) in children.into_iter().enumerate() {
            let size = nodes(child);
            if target < size {
                found = Some((i, child));
                break;
            }
            target -= size;
        }
        let Some((i, child)) = found else { break };
        path.push(i);
        current = child;
    }
    path
}
