//! Converts between JSON (the net's data) and CEL values.
//!
//! Into CEL, a JSON value becomes a tree of cel's `Val` objects that borrows the JSON's
//! strings instead of copying them: a variable lives only for one evaluation, so the
//! borrow is free and a large string field costs nothing until it is used.
//!
//! | JSON | CEL |
//! |---|---|
//! | `null`, `true`/`false`, string | `null`, `bool`, `string` |
//! | integer that fits `i64` | `int` |
//! | integer above `i64::MAX` | `uint` |
//! | any other number | `double` |
//! | array, object | `list`, `map` with `string` keys |
//!
//! Out of CEL, `int` and `uint` become JSON integers, a finite `double` a JSON float,
//! map keys (`int`, `uint`, `bool`, `string`) their textual form, an optional its value
//! (`null` when empty), and a type value (`type(x)`) its name, as cel renders it. A
//! non-finite `double`, `bytes`, two map keys with one textual form (`1` and `'1'`) and
//! values without a JSON form (functions, structs) are errors rather than guesses: an
//! expression can convert explicitly, e.g. `string(b)` for bytes.

use std::collections::HashMap;

use cel::Value as CelValue;
use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt,
};
use cel::common::value::Val;
use cel::objects::{Key, OptionalValue};
use serde_json::{Map, Number, Value};

/// Converts `value` into a CEL value borrowing its strings.
///
/// Fails only on a number that is neither an integer nor a finite float (possible with
/// serde_json's `arbitrary_precision`).
pub(crate) fn to_cel(value: &Value) -> Result<Box<dyn Val + '_>, String> {
    Ok(match value {
        Value::Null => Box::new(CelNull),
        Value::Bool(b) => Box::new(CelBool::from(*b)),
        Value::Number(n) => number_to_cel(n)?,
        Value::String(s) => Box::new(CelString::from(s.as_str())),
        Value::Array(items) => {
            let items = items.iter().map(to_cel).collect::<Result<Vec<_>, _>>()?;
            Box::new(CelList::from(items))
        }
        Value::Object(fields) => {
            let mut entries = HashMap::with_capacity(fields.len());
            for (key, field) in fields {
                entries.insert(CelMapKey::from(key.as_str()), to_cel(field)?);
            }
            Box::new(CelMap::from(entries))
        }
    })
}

fn number_to_cel(n: &Number) -> Result<Box<dyn Val + 'static>, String> {
    if let Some(i) = n.as_i64() {
        Ok(Box::new(CelInt::from(i)))
    } else if let Some(u) = n.as_u64() {
        Ok(Box::new(CelUInt::from(u)))
    } else if let Some(f) = n.as_f64() {
        Ok(Box::new(CelDouble::from(f)))
    } else {
        Err(format!("number {n} is not representable in CEL"))
    }
}

/// Converts a CEL result back into JSON.
///
/// Object keys come out sorted whatever serde_json's map type, so no hash order
/// reaches an output.
pub(crate) fn to_json(value: &CelValue) -> Result<Value, String> {
    Ok(match value {
        CelValue::Null => Value::Null,
        CelValue::Bool(b) => Value::Bool(*b),
        CelValue::Int(i) => Value::from(*i),
        CelValue::UInt(u) => Value::from(*u),
        CelValue::Float(f) => Number::from_f64(*f)
            .map(Value::Number)
            .ok_or_else(|| format!("double {f} has no JSON form"))?,
        CelValue::String(s) => Value::String(s.as_str().to_owned()),
        CelValue::List(items) => {
            Value::Array(items.iter().map(to_json).collect::<Result<Vec<_>, _>>()?)
        }
        CelValue::Map(map) => map_to_json(&map.map)?,
        CelValue::Bytes(_) => {
            return Err("bytes have no JSON form; convert them with string()".to_owned());
        }
        CelValue::Opaque(_) => match <&OptionalValue>::try_from(value) {
            Ok(optional) => match optional.value() {
                Some(inner) => to_json(inner)?,
                None => Value::Null,
            },
            Err(_) => return Err(no_json_form(value)),
        },
        // Functions, structs, and (should another crate enable cel's `chrono`)
        // timestamps and durations.
        _ => return Err(no_json_form(value)),
    })
}

fn map_to_json(map: &HashMap<Key, CelValue>) -> Result<Value, String> {
    let mut entries = map
        .iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect::<Vec<_>>();
    entries.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
    let mut object = Map::new();
    for (key, value) in entries {
        let value = to_json(value)?;
        // `{1: a, '1': b}` is a valid CEL map, but not a JSON object.
        if object.insert(key.clone(), value).is_some() {
            return Err(format!("two map keys both render as JSON key {key:?}"));
        }
    }
    Ok(Value::Object(object))
}

fn no_json_form(value: &CelValue) -> String {
    format!("a {} value has no JSON form", value.type_of())
}
