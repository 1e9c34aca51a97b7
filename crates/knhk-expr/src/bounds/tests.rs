//! Tests of the nesting bound: what counts, what is skipped as a literal or comment,
//! and what is refused before cel parses it.

use knhk_model::{Evaluator, ExprError};

use super::{LEVEL_WEIGHT, nesting_bound};
use crate::CelEvaluator;

const W: usize = LEVEL_WEIGHT;

/// The nesting bound of `source`, which must scan.
#[track_caller]
fn bound(source: &str) -> usize {
    match nesting_bound(source) {
        Ok(bound) => bound,
        Err(error) => panic!("{source:?}: {error}"),
    }
}

/// Whether `source` is refused as a parse error whose message contains `needle`.
fn refused(source: &str, needle: &str) -> bool {
    matches!(nesting_bound(source), Err(ExprError::Parse { message, .. }) if message.contains(needle))
}

#[test]
fn each_level_weighs_ten_and_each_operator_one() {
    assert_eq!(bound(""), W);
    assert_eq!(bound("amount"), W);
    assert_eq!(bound("a.b.c"), W + 2);
    assert_eq!(bound("1 + 2 * 3 - 4 / 5 % 6"), W + 5);
    assert_eq!(bound("a < b && c <= d || e > f && g >= h"), W + 7);
    assert_eq!(bound("a == b != c"), W + 2);
    assert_eq!(bound("!a ? -b : c"), W + 3);
    assert_eq!(bound("x in l"), W + 1);
    // `in` only as a whole word.
    assert_eq!(bound("inx + bin + in_"), W + 2);
    // A bracket counts in its enclosing level and opens one.
    assert_eq!(bound("(a)"), W + 1 + W);
    assert_eq!(bound("f(a, b.c)"), W + 1 + (W + 1));
    assert_eq!(bound("a[0][1][2]"), W + 3 + W);
    assert_eq!(bound("[[[1]]]"), W + 1 + (W + 1 + (W + 1 + W)));
    assert_eq!(bound("{'k': [v.w]}"), W + 1 + (W + 1 + (W + 1)));
    // The deepest point decides: siblings do not add up.
    assert_eq!(bound("(a.b) + (c) + [d]"), W + 5 + (W + 1));
}

#[test]
fn every_operator_of_a_level_counts_wherever_the_point_is() {
    // The leaf `a` is the deepest node of `((a.b.c) + 1) + 1`: left-deep chains put the
    // deepest point first, so a level's operators after a bracket count inside it too.
    assert_eq!(bound("(a.b.c) + 1 + 1"), W + 3 + (W + 2));
    assert_eq!(bound("1 + 1 + (a.b.c)"), W + 3 + (W + 2));
}

#[test]
fn dots_of_numbers_are_not_operators() {
    assert_eq!(bound("1.5 + .5 + 2.5e-3 + 1e10 + 0x1Fu + 3u"), W + 5);
    // `1.e3` is the integer 1, a `.`, and the identifier `e3`.
    assert_eq!(bound("1.e3"), W + 1);
    assert_eq!(bound("1..5"), W + 1);
    assert_eq!(bound("a.5"), W);
}

#[test]
fn string_literals_of_every_form_are_skipped() {
    for literal in [
        r#"'a.b + (c[d] ? e : f)'"#,
        r#""a.b + (c[d] ? e : f)""#,
        r#"'it\'s (' "#,
        r#""say \"(\"""#,
        r#"'\x41\X42\u00e9\U0001F600\101\a\b\f\n\r\t\v\?\`\\('"#,
        "'''multi\nline ' '' ( [ {'''",
        "\"\"\"multi\nline \" \"\" ( [ {\"\"\"",
        r#"'''escaped \''' ('''"#,
        r#"r'\' "#,
        r#"R"raw \d+(" "#,
        "r'''raw ' '' \\ (\n'''",
        r#"b'bytes ( \xff'"#,
        r#"B"bytes ("  "#,
        r#"br'raw bytes \('"#,
        r#"BR"raw bytes \(""#,
        "'é(ü)'",
    ] {
        assert_eq!(bound(literal), W, "{literal}");
        assert_eq!(bound(&format!("x + {literal} + y")), W + 2, "{literal}");
    }
    // `''` then `'a'`: a tripled quote that never closes is the empty string.
    assert_eq!(bound("'''a'"), W);
    // A raw prefix only where a token starts: `xr` is an identifier, so the string after
    // it is not raw and `\'` escapes the quote.
    assert_eq!(bound(r#"xr'a\'b' + 1"#), W + 1);
    // After a number a token starts: `0x1` then the raw string `r'\'`.
    assert_eq!(bound(r#"0x1r'\' + 1"#), W + 1);
    assert_eq!(bound(r#"1ur'\' + 1"#), W + 1);
}

#[test]
fn operators_in_strings_are_not_counted_by_the_evaluator_either() -> Result<(), ExprError> {
    // 1,000 operators and brackets inside strings; the expression itself is shallow.
    let inside = "a.b+(c)[d]?!".repeat(100);
    let source = format!("'{inside}' + \"{inside}\" + r'{inside}' + '''{inside}'''");
    assert_eq!(bound(&source), W + 3);
    let expression = CelEvaluator::default().compile(&source)?;
    let value = expression.evaluate(&knhk_model::Scope::data(&serde_json::json!({})))?;
    assert_eq!(value.as_str().map(str::len), Some(4 * inside.len()));
    Ok(())
}

#[test]
fn comments_and_escaped_identifiers_are_skipped() {
    assert_eq!(bound("a // don't (((\n + b"), W + 1);
    assert_eq!(bound("a.`b.c-d/e f` + 1"), W + 2);
    // `//` inside backquotes is part of the identifier, not a comment: the `(` after it
    // is code, and unclosed.
    assert!(refused("a.`b//c` + (d", "never closed"));
    // A lone backquote is no identifier.
    assert_eq!(bound("` + a"), W + 1);
}

#[test]
fn malformed_strings_and_brackets_are_refused() {
    assert!(refused("'abc", "unterminated string literal at byte 0"));
    assert!(refused(
        "x + \"a\nb\"",
        "unterminated string literal at byte 4"
    ));
    assert!(refused(r#"'\q'"#, "unterminated string literal"));
    assert!(refused(r#"'\x4'"#, "unterminated string literal"));
    assert!(refused(r#"'\400'"#, "unterminated string literal"));
    assert!(refused("r'abc", "unterminated string literal at byte 1"));
    assert!(refused("(a", "the bracket at byte 0 is never closed"));
    assert!(refused("a)", "`)` at byte 1 closes nothing"));
    assert!(refused(
        "[a)",
        "`)` at byte 2 does not close the bracket at byte 0"
    ));
    assert!(refused("{'a': (1}", "does not close"));
    // Brackets inside literals and comments do not count towards balance either.
    assert_eq!(bound("'(' + \")\" // ]\n"), W + 1);
}

#[test]
fn cel_refuses_what_the_scan_refuses() {
    let evaluator = CelEvaluator::default();
    for source in ["'abc", "\"a\nb\"", r#"'\q'"#, "(a", "a)", "[a)", "r'abc"] {
        assert!(
            matches!(evaluator.compile(source), Err(ExprError::Parse { .. })),
            "{source:?}"
        );
        assert!(
            cel::Env::stdlib().compile(source).is_err(),
            "cel accepts {source:?}"
        );
    }
}

#[test]
fn the_scan_agrees_with_cel_on_valid_tricky_sources() -> Result<(), ExprError> {
    let data = serde_json::json!({"x": 1, "xr": "s", "l": [1, 2]});
    let evaluator = CelEvaluator::default();
    for (source, expected) in [
        (
            r#"xr + r'\' + '\'' + """a"b""" + '''c'd'''"#,
            r#"s\'a"bc'd"#,
        ),
        ("size(b'a(') + size(br'\\(') + x // ((\n", "5"),
        ("1.5e1 + .5 < 20.0 ? 'yes' : 'no'", "yes"),
        ("x in l && !(x in []) ", "true"),
    ] {
        let value = evaluator
            .compile(source)?
            .evaluate(&knhk_model::Scope::data(&data))?;
        let shown = match &value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert_eq!(shown, expected, "{source}");
        assert!(bound(source) < 4 * W, "{source}");
    }
    Ok(())
}
