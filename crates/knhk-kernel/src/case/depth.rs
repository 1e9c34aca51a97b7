//! The nesting depth of data, and the check that keeps every net instance's and work
//! item's data within [`Limits::data_depth_max`](super::Limits::data_depth_max).
//!
//! Data is checked where a value enters it (launch data and initial values at launch, a
//! work item's output when it completes, mapping results, multiple-instance elements and
//! aggregates when they are computed), never by rescanning a case's data: every value
//! already in data is within the bound, and a new value can only go past it where it
//! enters. Depth counts the data object itself as 1, as the HTTP server counts request
//! bodies: a field holding `[1]` makes its data 2 deep.

use serde_json::Value;

use super::CommandError;

/// How deeply arrays and objects nest in `value`: 0 for a scalar, 1 for an array or
/// object holding only scalars (or nothing), and so on. Iterative, because data comes
/// from clients and recursing over it could overflow the stack.
pub(crate) fn depth(value: &Value) -> u32 {
    // Most outputs and mapping results are scalars or flat objects: answer those without
    // allocating the stack below.
    let nested = match value {
        Value::Array(items) => items.iter().any(is_container),
        Value::Object(fields) => fields.values().any(is_container),
        _ => return 0,
    };
    if !nested {
        return 1;
    }
    let mut deepest = 0;
    let mut stack: Vec<(&Value, u32)> = vec![(value, 1)];
    while let Some((value, level)) = stack.pop() {
        let children: &mut dyn Iterator<Item = &Value> = match value {
            Value::Array(items) => &mut items.iter(),
            Value::Object(fields) => &mut fields.values(),
            _ => continue,
        };
        deepest = deepest.max(level);
        let containers = children.filter(|child| is_container(child));
        stack.extend(containers.map(|child| (child, level.saturating_add(1))));
    }
    deepest
}

fn is_container(value: &Value) -> bool {
    value.is_array() || value.is_object()
}

/// How deep data nests once `value` is one of its fields.
pub(crate) fn as_field(value: &Value) -> u32 {
    depth(value).saturating_add(1)
}

/// Refuses data that would nest `depth` deep when the limit is `max`.
pub(crate) fn check(
    depth: u32,
    max: u32,
    net: &str,
    task: Option<&str>,
    what: impl FnOnce() -> String,
) -> Result<(), CommandError> {
    if depth <= max {
        return Ok(());
    }
    Err(CommandError::DataTooDeep {
        net: net.to_owned(),
        task: task.map(str::to_owned),
        what: what(),
        depth,
        max,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn depth_counts_arrays_and_objects() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!("deep [[[")), 0);
        assert_eq!(depth(&json!([])), 1);
        assert_eq!(depth(&json!({})), 1);
        assert_eq!(depth(&json!({"a": [1]})), 2);
        assert_eq!(depth(&json!([1, [2, [3]], {"a": {}}])), 3);
        assert_eq!(as_field(&json!([1])), 2);
        assert_eq!(as_field(&json!(null)), 1);
    }

    #[test]
    fn depth_of_hostile_data_needs_no_recursion() {
        // Deeper than the limits allow anywhere. serde_json's `Drop` recurses, so the
        // test takes the value apart in a loop rather than dropping it whole.
        let mut value = json!(0);
        for _ in 0..2_000 {
            value = Value::Array(vec![value]);
        }
        assert_eq!(depth(&value), 2_000);
        while let Value::Array(mut items) = value {
            value = items.pop().unwrap_or(Value::Null);
        }
    }

    #[test]
    fn check_refuses_past_the_limit_naming_the_value() {
        assert_eq!(check(32, 32, "n", None, || unreachable!()), Ok(()));
        assert_eq!(
            check(33, 32, "n", Some("t"), || "output".to_owned()),
            Err(CommandError::DataTooDeep {
                net: "n".to_owned(),
                task: Some("t".to_owned()),
                what: "output".to_owned(),
                depth: 33,
                max: 32
            })
        );
    }
}
