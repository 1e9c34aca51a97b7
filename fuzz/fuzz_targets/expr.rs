//! CEL expressions (`knhk_expr::CelEvaluator`): compile arbitrary source, then evaluate
//! it against bounded data.
//!
//! Input: `source NUL data NUL binding`. `source` is the expression (UTF-8, else the
//! input is skipped); `data` is the net data as JSON text, or, when it is not JSON, a
//! value built from its bytes with `arbitrary`; `binding` likewise gives the value bound
//! as `output`, `item` and `outputs` (the bindings of mappings and MI expressions).
//! Values nested deeper than the kernel ever lets data nest are skipped: converting data
//! to CEL recurses, and its depth is the kernel's to bound (`Limits::data_depth_max`,
//! at most 100).
//!
//! Asserts: compiling and evaluating never panic outside cel (whose panics `knhk-expr`
//! catches: `ExprError::Internal`), never overflow a 2 MiB stack, and a source beyond
//! `ExprLimits` is refused before cel sees it. Evaluating twice gives the same value, or
//! the same kind of error (a comprehension over a map visits its keys in order).

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use knhk_expr::{CelEvaluator, ExprLimits};
use knhk_fuzz::json::{Json, depth};
use knhk_model::{Evaluator, ExprError, Scope};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

/// The deepest data the kernel can hold (`Limits::DATA_DEPTH_CEILING`), plus the level an
/// aggregate of outputs adds.
const DATA_DEPTH_MAX: usize = 101;

fuzz_target!(init: knhk_fuzz::init(), |input: &[u8]| {
    let mut parts = input.splitn(3, |b| *b == 0);
    let Ok(source) = std::str::from_utf8(parts.next().unwrap_or_default()) else {
        return;
    };
    let data = value_of(parts.next().unwrap_or_default());
    let binding = value_of(parts.next().unwrap_or_default());
    if depth(&data) > DATA_DEPTH_MAX || depth(&binding) > DATA_DEPTH_MAX {
        return;
    }
    knhk_fuzz::on_worker_stack(|| run(source, &data, &binding));
});

/// JSON text, or a value built from the bytes.
fn value_of(bytes: &[u8]) -> Value {
    if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
        return value;
    }
    Json::arbitrary_take_rest(Unstructured::new(bytes)).map_or(Value::Null, |json| json.0)
}

fn run(source: &str, data: &Value, binding: &Value) {
    let evaluator = CelEvaluator::default();
    let compiled = evaluator.compile(source);
    let limits = ExprLimits::default();
    if source.len() > limits.bytes_max {
        assert!(
            matches!(compiled, Err(ExprError::TooLarge { .. })),
            "a source of {} bytes was not refused: {compiled:?}",
            source.len()
        );
    }
    let Ok(expression) = compiled else {
        return;
    };
    let completed = json!(3);
    let active = json!(1);
    let bindings: [(&str, &Value); 5] = [
        ("output", binding),
        ("item", binding),
        ("outputs", binding),
        ("completed", &completed),
        ("active", &active),
    ];
    let scope = Scope {
        data,
        bindings: &bindings,
    };
    let first = expression.evaluate(&scope);
    let second = expression.evaluate(&scope);
    // The same value every time (replay depends on it). Only the kind of an error is
    // compared: cel's messages print maps in hash order, and no message is stored.
    match (&first, &second) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "evaluation is not deterministic: {source}"),
        (Err(a), Err(b)) => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "evaluation fails differently: {source}: {a} / {b}"
        ),
        _ => panic!("evaluation is not deterministic: {source}: {first:?} / {second:?}"),
    }
    let plain = expression.evaluate(&Scope::data(data));
    drop(plain);
}
