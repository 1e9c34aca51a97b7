//! Tests of [`CelEvaluator`] through the `knhk_model` traits only.

use knhk_model::ExprBound;
use serde_json::{Value, json};

use super::*;

fn eval_with(source: &str, data: &Value, bindings: &[(&str, &Value)]) -> Result<Value, ExprError> {
    CelEvaluator::default()
        .compile(source)?
        .evaluate(&Scope { data, bindings })
}

fn eval(source: &str, data: Value) -> Result<Value, ExprError> {
    eval_with(source, &data, &[])
}

/// Whether `result` is an evaluation error about `source` whose message contains `needle`.
fn is_evaluate_error(result: &Result<Value, ExprError>, source: &str, needle: &str) -> bool {
    matches!(
        result,
        Err(ExprError::Evaluate { source_text, message })
            if source_text == source && message.contains(needle)
    )
}

#[test]
fn comparisons_on_data_fields() {
    assert_eq!(
        eval("amount > 100", json!({"amount": 150})),
        Ok(json!(true))
    );
    assert_eq!(
        eval("amount > 100", json!({"amount": 50})),
        Ok(json!(false))
    );
    assert_eq!(
        eval("amount <= 100", json!({"amount": 100})),
        Ok(json!(true))
    );
    assert_eq!(eval("amount != 7", json!({"amount": 7})), Ok(json!(false)));
    assert_eq!(eval("price >= 2.5", json!({"price": 2.5})), Ok(json!(true)));
    assert_eq!(
        eval("status == 'open'", json!({"status": "open"})),
        Ok(json!(true))
    );
    assert_eq!(eval("name < 'b'", json!({"name": "abc"})), Ok(json!(true)));
}

#[test]
fn int_literal_equals_json_integer_field() {
    assert_eq!(eval("count == 3", json!({"count": 3})), Ok(json!(true)));
    assert_eq!(eval("count == 4", json!({"count": 3})), Ok(json!(false)));
    assert_eq!(
        eval("count in [1, 2, 3]", json!({"count": 3})),
        Ok(json!(true))
    );
    assert_eq!(eval("-count == -3", json!({"count": 3})), Ok(json!(true)));
}

#[test]
fn logical_operators() {
    let data = json!({"a": true, "b": false});
    assert_eq!(eval("a && b", data.clone()), Ok(json!(false)));
    assert_eq!(eval("a || b", data.clone()), Ok(json!(true)));
    assert_eq!(eval("!b", data.clone()), Ok(json!(true)));
    assert_eq!(eval("!(a && !b) || b", data.clone()), Ok(json!(false)));
    assert_eq!(eval("a ? 'yes' : 'no'", data), Ok(json!("yes")));
}

#[test]
fn unread_missing_variable_is_no_error() {
    assert_eq!(eval("false && missing > 1", json!({})), Ok(json!(false)));
    assert_eq!(eval("true || missing > 1", json!({})), Ok(json!(true)));
}

#[test]
fn int_arithmetic() {
    let data = json!({"count": 3, "step": -4});
    assert_eq!(eval("count * 2 + 1", data.clone()), Ok(json!(7)));
    assert_eq!(eval("count - step", data.clone()), Ok(json!(7)));
    assert_eq!(eval("7 / count", data.clone()), Ok(json!(2)));
    assert_eq!(eval("7 % count", data.clone()), Ok(json!(1)));
    assert!(is_evaluate_error(
        &eval("count / 0", data),
        "count / 0",
        "zero"
    ));
}

#[test]
fn int_overflow_is_an_error() {
    let source = "big + 1";
    let result = eval(source, json!({"big": i64::MAX}));
    assert!(is_evaluate_error(&result, source, "verflow"), "{result:?}");
}

#[test]
fn double_arithmetic() {
    let data = json!({"price": 2.5, "count": 3});
    assert_eq!(eval("price * 2.0", data.clone()), Ok(json!(5.0)));
    assert_eq!(eval("price / 2.0 - 0.25", data.clone()), Ok(json!(1.0)));
    assert_eq!(eval("price * double(count)", data.clone()), Ok(json!(7.5)));
    assert_eq!(eval("int(price * 2.0)", data), Ok(json!(5)));
}

#[test]
fn string_functions() {
    let data = json!({"name": "hello world"});
    assert_eq!(eval("size(name)", data.clone()), Ok(json!(11)));
    assert_eq!(eval("name.size() == 11", data.clone()), Ok(json!(true)));
    assert_eq!(eval("name.contains('o w')", data.clone()), Ok(json!(true)));
    assert_eq!(eval("name.contains('xyz')", data.clone()), Ok(json!(false)));
    assert_eq!(
        eval("name.startsWith('hell')", data.clone()),
        Ok(json!(true))
    );
    assert_eq!(
        eval("name.endsWith('hell')", data.clone()),
        Ok(json!(false))
    );
    assert_eq!(
        eval("name.matches('^h.*d$')", data.clone()),
        Ok(json!(true))
    );
    assert_eq!(eval("name + '!'", data), Ok(json!("hello world!")));
}

#[test]
fn lists() {
    let data = json!({"items": [1, 2, 3]});
    assert_eq!(eval("size(items)", data.clone()), Ok(json!(3)));
    assert_eq!(eval("items[1]", data.clone()), Ok(json!(2)));
    assert_eq!(eval("2 in items", data.clone()), Ok(json!(true)));
    assert_eq!(eval("items.all(i, i > 0)", data.clone()), Ok(json!(true)));
    assert_eq!(
        eval("items.exists(i, i > 2)", data.clone()),
        Ok(json!(true))
    );
    assert_eq!(
        eval("items.map(i, i * 10)", data.clone()),
        Ok(json!([10, 20, 30]))
    );
    assert_eq!(
        eval("items.filter(i, i % 2 == 1)", data.clone()),
        Ok(json!([1, 3]))
    );
    assert_eq!(eval("items + [4]", data), Ok(json!([1, 2, 3, 4])));
}

#[test]
fn map_access() {
    let data = json!({"order": {"total": 42, "lines": [{"sku": "a"}], "meta": {"ok": true}}});
    assert_eq!(eval("order.total", data.clone()), Ok(json!(42)));
    assert_eq!(eval("order['total'] == 42", data.clone()), Ok(json!(true)));
    assert_eq!(eval("order.lines[0].sku", data.clone()), Ok(json!("a")));
    assert_eq!(eval("order.meta.ok", data.clone()), Ok(json!(true)));
    assert_eq!(eval("'total' in order", data.clone()), Ok(json!(true)));
    assert_eq!(eval("size(order)", data.clone()), Ok(json!(3)));
    let result = eval("order.missing", data);
    assert!(
        is_evaluate_error(&result, "order.missing", "missing"),
        "{result:?}"
    );
}

#[test]
fn has_macro() {
    let data = json!({"order": {"total": 42}});
    assert_eq!(eval("has(order.total)", data.clone()), Ok(json!(true)));
    assert_eq!(eval("has(order.x)", data.clone()), Ok(json!(false)));
    assert_eq!(eval("has(order.x) && order.x > 1", data), Ok(json!(false)));
}

#[test]
fn data_reaches_fields_that_are_not_identifiers() {
    let data = json!({"odd-name": 5, "with space": "s", "in": 1, "amount": 3});
    assert_eq!(eval("data[\"odd-name\"]", data.clone()), Ok(json!(5)));
    assert_eq!(
        eval("data['with space'] + 'x'", data.clone()),
        Ok(json!("sx"))
    );
    assert_eq!(eval("data['in']", data.clone()), Ok(json!(1)));
    assert_eq!(eval("data.amount == amount", data), Ok(json!(true)));
}

#[test]
fn data_is_the_whole_object_even_with_a_data_field() {
    let data = json!({"data": 1, "x": 2});
    assert_eq!(eval("data", data.clone()), Ok(data.clone()));
    assert_eq!(eval("data.data", data), Ok(json!(1)));
}

#[test]
fn bindings_hide_data_fields() {
    let data = json!({"amount": 150, "item": "data"});
    let amount = json!(5);
    let output = json!({"approved": true});
    let bindings = [("amount", &amount), ("output", &output)];
    assert_eq!(eval_with("amount", &data, &bindings), Ok(json!(5)));
    assert_eq!(eval_with("data.amount", &data, &bindings), Ok(json!(150)));
    assert_eq!(
        eval_with("output.approved", &data, &bindings),
        Ok(json!(true))
    );
    assert_eq!(eval_with("item", &data, &bindings), Ok(json!("data")));

    let later = json!(6);
    let repeated = [("amount", &amount), ("amount", &later)];
    assert_eq!(eval_with("amount", &data, &repeated), Ok(json!(6)));

    let replaced = json!({"other": 1});
    let hide_data = [("data", &replaced)];
    assert_eq!(eval_with("data", &data, &hide_data), Ok(replaced.clone()));
}

#[test]
fn non_object_data_binds_only_data() {
    let data = json!([1, 2]);
    assert_eq!(eval("size(data)", data.clone()), Ok(json!(2)));
    assert!(is_evaluate_error(&eval("x", data), "x", "'x'"));
}

#[test]
fn round_trip_of_every_json_type() {
    let values = [
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(-17),
        json!(i64::MIN),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(1.5),
        json!(-0.25),
        json!(""),
        json!("text with \"quotes\" and ünïcödé"),
        json!([]),
        json!([1, "two", 3.0, null, [true], {"k": "v"}]),
        json!({}),
        json!({"b": 1, "a": [2], "c": {"d": null, "e": 2.5}}),
    ];
    for value in values {
        let bindings = [("v", &value)];
        assert_eq!(eval_with("v", &json!({}), &bindings), Ok(value.clone()));
        assert_eq!(eval("data", value.clone()), Ok(value.clone()));
    }
}

#[test]
fn result_conversion_of_cel_only_values() {
    let data = json!({});
    assert_eq!(eval("{1: 'a', true: 'b', 2u: 'c'}", data.clone()), {
        Ok(json!({"1": "a", "true": "b", "2": "c"}))
    });
    assert_eq!(eval("3u", data.clone()), Ok(json!(3)));
    assert_eq!(eval("optional.of(4)", data.clone()), Ok(json!(4)));
    assert_eq!(eval("optional.none()", data.clone()), Ok(json!(null)));

    let colliding = "{1: 'a', '1': 'b'}";
    let result = eval(colliding, data.clone());
    assert!(is_evaluate_error(&result, colliding, "\"1\""), "{result:?}");
    let infinite = "1.0 / 0.0";
    let result = eval(infinite, data.clone());
    assert!(is_evaluate_error(&result, infinite, "inf"), "{result:?}");
    let result = eval("b'abc'", data.clone());
    assert!(is_evaluate_error(&result, "b'abc'", "bytes"), "{result:?}");
    // cel itself turns a type value into its name.
    assert_eq!(eval("type(1)", data.clone()), Ok(json!("int")));
    assert_eq!(eval("string(b'abc')", data), Ok(json!("abc")));
}

#[test]
fn u64_above_i64_max() {
    let data = json!({"big": u64::MAX, "edge": 9_223_372_036_854_775_808_u64});
    assert_eq!(eval("big", data.clone()), Ok(json!(u64::MAX)));
    assert_eq!(
        eval("big == 18446744073709551615u", data.clone()),
        Ok(json!(true))
    );
    assert_eq!(
        eval("edge > 9223372036854775807u", data.clone()),
        Ok(json!(true))
    );
    assert_eq!(eval("big - edge", data.clone()), Ok(json!(i64::MAX as u64)));
    assert_eq!(eval("type(edge) == uint", data), Ok(json!(true)));
}

#[test]
fn parse_error_names_the_expression() {
    let source = "amount > ";
    let result = CelEvaluator::default().compile(source).map(|_| ());
    assert!(
        matches!(&result, Err(ExprError::Parse { source_text, message })
            if source_text == source && !message.is_empty()),
        "{result:?}"
    );
    let shown = result.map_err(|error| error.to_string());
    assert!(
        matches!(&shown, Err(text) if text.contains("`amount > `")),
        "{shown:?}"
    );
}

#[test]
fn unknown_variable_is_an_evaluate_error_naming_expression_and_variable() {
    let source = "missing_field > 1";
    let result = eval(source, json!({"present": 1}));
    assert!(
        is_evaluate_error(&result, source, "missing_field"),
        "{result:?}"
    );
    let shown = result.map_err(|error| error.to_string());
    assert!(
        matches!(&shown, Err(text) if text.contains("`missing_field > 1`")),
        "{shown:?}"
    );
}

#[test]
fn type_mismatch_is_an_evaluate_error() {
    let source = "name > 1";
    let result = eval(source, json!({"name": "x"}));
    assert!(is_evaluate_error(&result, source, "_>_"), "{result:?}");
}

#[test]
fn compiled_once_evaluated_many_times_across_threads() -> Result<(), ExprError> {
    let expression = CelEvaluator::default().compile("amount * 2")?;
    assert_eq!(expression.source(), "amount * 2");
    std::thread::scope(|threads| {
        for amount in 0..4_i64 {
            let expression = Arc::clone(&expression);
            threads.spawn(move || {
                let data = json!({ "amount": amount });
                assert_eq!(
                    expression.evaluate(&Scope::data(&data)),
                    Ok(json!(amount * 2))
                );
            });
        }
    });
    Ok(())
}

#[test]
fn evaluator_is_send_sync_clone_default() {
    fn send_sync<T: Send + Sync + Clone + Default>() {}
    send_sync::<CelEvaluator>();
}

#[test]
fn numbers_compare_across_types_but_do_not_mix_in_arithmetic() {
    assert_eq!(
        eval("amount > 100", json!({"amount": 150.5})),
        Ok(json!(true))
    );
    assert_eq!(eval("amount == 3", json!({"amount": 3.0})), Ok(json!(true)));
    assert_eq!(eval("amount == 3u", json!({"amount": 3})), Ok(json!(true)));
    // CEL has no implicit numeric conversion: `double(amount)` is needed.
    let source = "amount * 1.5";
    let result = eval(source, json!({"amount": 3}));
    assert!(is_evaluate_error(&result, source, "Int(3)"), "{result:?}");
    assert_eq!(
        eval("double(amount) * 1.5", json!({"amount": 3})),
        Ok(json!(4.5))
    );
}

#[test]
fn comprehension_variables_shadow_data_fields() {
    let data = json!({"x": 100, "y": 1, "items": [1, 2]});
    assert_eq!(eval("items.map(x, x + y)", data), Ok(json!([2, 3])));
}

// ---- bounds: no expression crashes the process ------------------------------------

/// Runs `work` on a thread with a 2 MiB stack, tokio's default for its workers.
fn on_worker_stack<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let thread = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(work)
        .expect("spawn a thread");
    thread.join().expect("the thread does not panic")
}

/// The bound and the measure of a [`ExprError::TooLarge`], checking that the error
/// quotes only a short prefix of the source.
fn too_large(result: &Result<Arc<dyn Expression>, ExprError>) -> Option<(ExprBound, usize, usize)> {
    let Err(
        error @ ExprError::TooLarge {
            source_text,
            bound,
            found,
            max,
        },
    ) = result
    else {
        return None;
    };
    assert!(
        source_text.chars().count() <= knhk_model::EXCERPT_CHARS + 1,
        "{source_text}"
    );
    assert!(error.to_string().len() < 600, "{error}");
    Some((*bound, *found, *max))
}

/// The expressions of the issue "no request can crash knhk".
fn hostile_sources() -> Vec<(&'static str, String)> {
    vec![
        (
            "5,000-member chain",
            format!("amount{}", ".a".repeat(5_000)),
        ),
        (
            "7,000-term sum",
            format!("{}1 > amount", "1 + ".repeat(6_999)),
        ),
        (
            "100,000 nested parentheses",
            format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000)),
        ),
        ("100,000 negations", format!("{}true", "!".repeat(100_000))),
    ]
}

#[test]
fn issue_reproductions_are_refused_on_a_worker_stack() {
    let refusals = on_worker_stack(|| {
        let defaults = CelEvaluator::default();
        // Past the length bound too, so that the nesting bound is what refuses.
        let long = CelEvaluator::with_limits(ExprLimits {
            bytes_max: 1 << 20,
            ..ExprLimits::default()
        });
        hostile_sources()
            .into_iter()
            .map(|(what, source)| {
                let by_default = too_large(&defaults.compile(&source));
                let by_nesting = too_large(&long.compile(&source));
                (what, source.len(), by_default, by_nesting)
            })
            .collect::<Vec<_>>()
    });
    let max = ExprLimits::default();
    for (what, bytes, by_default, by_nesting) in refusals {
        let source = hostile_sources()
            .into_iter()
            .find(|s| s.0 == what)
            .map(|s| s.1)
            .unwrap_or_default();
        let nesting = nesting_bound(&source).unwrap_or_else(|e| panic!("{what}: {e}"));
        let expected = if bytes > max.bytes_max {
            (ExprBound::Bytes, bytes, max.bytes_max)
        } else {
            (ExprBound::Nesting, nesting, max.nesting_max)
        };
        assert_eq!(by_default, Some(expected), "{what}");
        assert_eq!(
            by_nesting,
            Some((ExprBound::Nesting, nesting, max.nesting_max)),
            "{what}"
        );
    }
}

#[test]
fn the_member_chain_of_the_issue_is_refused_by_its_nesting_bound() {
    let source = format!("amount{}", ".a".repeat(5_000));
    assert_eq!(source.len(), 10_006);
    let result = CelEvaluator::default().compile(&source);
    assert_eq!(
        too_large(&result),
        Some((ExprBound::Nesting, LEVEL_WEIGHT + 5_000, 256))
    );
    let shown = result.map(|_| ()).map_err(|e| e.to_string());
    assert_eq!(
        shown,
        Err(format!(
            "expression `amount{}…` is too large: its nesting bound is 5010, more than 256",
            ".a".repeat(57)
        ))
    );
}

/// The worst expressions within the default bounds: a chain of operators as long as the
/// nesting bound allows, and brackets nested as deeply, in each form.
fn worst_sources() -> Vec<String> {
    let limits = ExprLimits::default();
    let families: [(&str, &str, &str); 10] = [
        ("1", "+1", ""),
        ("true", "==true", ""),
        ("data", "['a']", ""),
        ("'a'", ".size()", ""),
        ("", "(", ")"),
        ("", "[", "]"),
        ("", "{'a':", "}"),
        ("", "string(", ")"),
        ("", "[1].map(x,", ")"),
        ("", "1+(", ")"),
    ];
    families
        .iter()
        .map(|(start, open, close)| {
            let build = |n: usize| {
                let leaf = if close.is_empty() { "" } else { "1" };
                format!("{start}{}{leaf}{}", open.repeat(n), close.repeat(n))
            };
            let fits = |n: usize| nesting_bound(&build(n)).is_ok_and(|b| b <= limits.nesting_max);
            let n = (0..).take_while(|n| fits(*n)).last().unwrap_or(0);
            build(n)
        })
        .collect()
}

#[test]
fn expressions_at_the_limits_compile_evaluate_and_drop_on_a_worker_stack() {
    let limits = ExprLimits::default();
    let sources = worst_sources();
    for source in &sources {
        let bound = nesting_bound(source).unwrap_or(usize::MAX);
        // Each step of a family adds at most 13 (`[1].map(x,`: three operators, a level).
        assert!(limits.nesting_max - bound < 13, "{bound} for {source}");
    }
    // A string literal exactly as long as the length bound, and one byte longer.
    let longest = format!("'{}'", "a".repeat(limits.bytes_max - 2));
    let results = on_worker_stack(move || {
        let evaluator = CelEvaluator::default();
        let data = json!({"a": 1});
        let mut results: Vec<Result<usize, ExprError>> = sources
            .iter()
            .chain([&longest])
            .map(|source| {
                let expression = evaluator.compile(source)?;
                let value = expression.evaluate(&Scope::data(&data));
                // Evaluation errors (`1.size()`) are fine: the point is the recursion.
                Ok(value.map_or(0, |v| v.to_string().len()))
            })
            .collect();
        results.push(evaluator.compile(&format!("{longest} ")).map(|_| 0));
        results
    });
    let (too_long, fitting) = results.split_last().unwrap_or_else(|| unreachable!());
    for result in fitting {
        assert!(result.is_ok(), "{result:?}");
    }
    assert!(
        matches!(too_long, Err(ExprError::TooLarge { bound: ExprBound::Bytes, found, .. }) if *found == limits.bytes_max + 1),
        "{too_long:?}"
    );
}

#[test]
fn a_panic_in_cel_is_an_internal_error() {
    // cel is not known to panic on any input within the bounds (its `Display` of a
    // parse error did, past column 65,535, which `parse_message` no longer uses), so the
    // conversion is tested on the guard itself.
    let source = format!("boom{}", "x".repeat(500));
    let result: Result<(), ExprError> = guard(&source, || panic!("index out of bounds"));
    let Err(ExprError::Internal {
        source_text,
        message,
    }) = &result
    else {
        panic!("{result:?}");
    };
    assert_eq!(source_text, &format!("boom{}…", "x".repeat(116)));
    assert_eq!(message, "panicked: index out of bounds");
    let text = format!("{}", 42);
    let result: Result<(), ExprError> = guard("a", move || panic!("{text}"));
    assert_eq!(
        result,
        Err(ExprError::Internal {
            source_text: "a".to_owned(),
            message: "panicked: 42".to_owned()
        })
    );
    assert!(
        ExprError::Internal {
            source_text: "a".to_owned(),
            message: "panicked: 42".to_owned()
        }
        .to_string()
        .starts_with("internal error of the expression library on `a`")
    );
    assert_eq!(guard("a", || Ok(7)), Ok(7));
}

#[test]
fn parse_errors_quote_neither_the_whole_source_nor_its_line() {
    let source = format!("{} +", "a + ".repeat(50));
    let result = CelEvaluator::default().compile(&source).map(|_| ());
    let Err(ExprError::Parse {
        source_text,
        message,
    }) = &result
    else {
        panic!("{result:?}");
    };
    assert!(source_text.ends_with('…'), "{source_text}");
    assert!(message.starts_with("1:"), "{message}");
    assert!(!message.contains('\n'), "{message}");
    assert!(message.chars().count() <= MESSAGE_CHARS + 1, "{message}");
}

#[test]
fn limits_are_the_evaluators() {
    let limits = ExprLimits {
        bytes_max: 10,
        nesting_max: 11,
    };
    let evaluator = CelEvaluator::with_limits(limits);
    assert_eq!(evaluator.limits(), limits);
    assert_eq!(CelEvaluator::new().limits(), ExprLimits::default());
    assert!(evaluator.compile("a.b").is_ok());
    assert_eq!(
        too_large(&evaluator.compile("a.b.c")),
        Some((ExprBound::Nesting, 12, 11))
    );
    assert_eq!(
        too_large(&evaluator.compile("abcdefghijk")),
        Some((ExprBound::Bytes, 11, 10))
    );
}

/// Regression (fuzz target `data_mapping`, issue "no request can crash knhk"): a
/// comprehension over a map visited its keys in the map's hash order, which std seeds at
/// random per map, so the same mapping gave different data when the runtime replayed it.
/// Every comprehension now visits a map's keys in order, whatever the map.
#[test]
fn map_comprehensions_visit_keys_in_order() {
    let data = json!({"b": 2, "a": 1, "d": 4, "c": 3, "e": 5, "f": 6, "g": 7, "h": 8});
    for _ in 0..32 {
        assert_eq!(
            eval(
                "{'b': 1, 'a': 2, 'd': 3, 'c': 4, 'e': 5, 'f': 6}.map(k, k)",
                json!({})
            ),
            Ok(json!(["a", "b", "c", "d", "e", "f"]))
        );
        assert_eq!(
            eval("data.map(k, k)", data.clone()),
            Ok(json!(["a", "b", "c", "d", "e", "f", "g", "h"]))
        );
        assert_eq!(
            eval("data.filter(k, data[k] % 2 == 0)", data.clone()),
            Ok(json!(["b", "d", "f", "h"]))
        );
        assert_eq!(
            eval("data.map(k, data[k] > 2, data[k] * 10)", data.clone()),
            Ok(json!([30, 40, 50, 60, 70, 80]))
        );
        // Keys of every type, in cel's key order: ints, uints, booleans, strings.
        assert_eq!(
            eval(
                "{'x': 0, 2: 0, true: 0, 1u: 0, -1: 0, false: 0}.map(k, string(k))",
                json!({})
            ),
            Ok(json!(["-1", "2", "1", "false", "true", "x"]))
        );
    }
    // The rest of what comprehensions do is unchanged.
    assert_eq!(
        eval("data.all(k, data[k] > 0)", data.clone()),
        Ok(json!(true))
    );
    assert_eq!(
        eval("data.exists_one(k, k == 'c')", data.clone()),
        Ok(json!(true))
    );
    assert_eq!(
        eval("[3, 1, 2].map(x, x * 2)", json!({})),
        Ok(json!([6, 2, 4]))
    );
    assert_eq!(eval("{}.map(k, k)", json!({})), Ok(json!([])));
    assert!(is_evaluate_error(
        &eval("(1).map(x, x)", json!({})),
        "(1).map(x, x)",
        ""
    ));
}

/// Regression (fuzz target `data_mapping`): cel's `+` appended a map's keys to a list in
/// hash order. CEL defines no `+` with a map: it is an error, whatever is on the left.
#[test]
fn a_map_cannot_be_added() {
    let data = json!({"m": {"b": 1, "a": 2}, "l": [1], "n": 1});
    for source in [
        "l + m",
        "[1, 2] + {'b': 1, 'a': 2}",
        "n + m",
        "m + m",
        "'s' + m",
    ] {
        assert!(
            is_evaluate_error(&eval(source, data.clone()), source, "a map cannot be added"),
            "{source}: {:?}",
            eval(source, data.clone())
        );
    }
    // Everything else adds as before.
    assert_eq!(eval("l + [2] + l", data.clone()), Ok(json!([1, 2, 1])));
    assert_eq!(eval("n + 1 + n", data.clone()), Ok(json!(3)));
    assert_eq!(eval("'a' + 'b'", data.clone()), Ok(json!("ab")));
    assert_eq!(
        eval("[1, 2].map(x, x + n)", data.clone()),
        Ok(json!([2, 3]))
    );
    assert_eq!(eval("m.map(k, k + '!')", data), Ok(json!(["a!", "b!"])));
}
