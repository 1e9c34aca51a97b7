//! Unit tests of the XPath translation: one per form found in the corpus
//! (`query="..."`, `<predicate>`, `splittingExpression`, MI output), plus the forms the
//! translator promises besides. Each translation is also compiled and run with the
//! CEL evaluator, so the tests check behaviour, not only text.

use knhk_model::{DataType, Evaluator, Scope as CelScope};
use serde_json::{Value, json};

use super::*;

fn vars(list: &[(&str, DataType, bool)]) -> Vars {
    list.iter()
        .map(|(name, data_type, initialised)| {
            (
                (*name).to_owned(),
                VarInfo {
                    data_type: *data_type,
                    initialised: *initialised,
                },
            )
        })
        .collect()
}

/// The net data of net `Net` (or Beta's `/data`).
fn net(vars: &Vars) -> Scope<'_> {
    Scope::new(vec![Root {
        names: vec!["data".to_owned(), "Net".to_owned()],
        object: Object::Net(vars),
    }])
}

/// The output data of decomposition `A` (or Beta's `/data`), as `output`.
fn output(vars: &Vars) -> Scope<'_> {
    Scope::new(vec![Root {
        names: vec!["data".to_owned(), "A".to_owned()],
        object: Object::Fields {
            code: "output".to_owned(),
            vars: Some(vars),
        },
    }])
}

fn run(cel: &str, data: Value, bindings: &[(&str, &Value)]) -> Value {
    let expression = knhk_expr::CelEvaluator::default()
        .compile(cel)
        .unwrap_or_else(|e| panic!("{cel}: {e}"));
    let scope = CelScope {
        data: &data,
        bindings,
    };
    expression
        .evaluate(&scope)
        .unwrap_or_else(|e| panic!("{cel}: {e}"))
}

fn pred(source: &str, scope: &Scope<'_>) -> String {
    predicate(source, scope).unwrap_or_else(|e| panic!("{source}: {e}"))
}

fn map(source: &str, scope: &Scope<'_>) -> String {
    mapping(source, scope)
        .unwrap_or_else(|e| panic!("{source}: {e}"))
        .0
}

fn unsupported(result: Result<String, XPathError>) -> String {
    match result {
        Err(XPathError::Unsupported { construct }) => construct,
        other => panic!("expected unsupported, got {other:?}"),
    }
}

#[test]
fn boolean_literals() {
    let v = Vars::new();
    assert_eq!(pred("true()", &net(&v)), "true");
    assert_eq!(pred("false()", &net(&v)), "false");
    assert_eq!(pred(" fn:true( ) ", &net(&v)), "true");
}

#[test]
fn integer_variable_equals_number() {
    // WPC4ExclusiveChoice: `/Net/c=0`, `/Net/c=1` on an int with an initial value.
    let v = vars(&[("c", DataType::Integer, true)]);
    let cel = pred("/Net/c=0", &net(&v));
    assert_eq!(cel, "c == 0");
    assert_eq!(run(&cel, json!({"c": 0}), &[]), json!(true));
    assert_eq!(run(&cel, json!({"c": 1}), &[]), json!(false));
    assert_eq!(pred("/Net/c=1", &net(&v)), "c == 1");
}

#[test]
fn number_of_text_compared() {
    // WPC22Recursion, WPC10AbitraryCycles, WPC6MultipleChoice.
    let v = vars(&[
        ("c", DataType::Integer, true),
        ("cond", DataType::Integer, true),
    ]);
    let s = net(&v);
    assert_eq!(pred("number(/Net/c/text())<5", &s), "c < 5");
    assert_eq!(pred("number(/Net/cond/text())>10", &s), "cond > 10");
    assert_eq!(pred("number(/Net/cond/text())<=10", &s), "cond <= 10");
    assert_eq!(pred("number(/Net/cond/text())>15", &s), "cond > 15");
    assert_eq!(run("cond > 15", json!({"cond": 16}), &[]), json!(true));
}

#[test]
fn untyped_variable_converted_by_the_other_operand() {
    let v = vars(&[("s", DataType::String, true)]);
    let cel = pred("number(/Net/s/text()) >= 2.5", &net(&v));
    assert_eq!(cel, "double(s) >= 2.5");
    assert_eq!(run(&cel, json!({"s": "3"}), &[]), json!(true));
    // An undeclared variable compared with a number.
    let none = Vars::new();
    let cel = pred("/Net/n > 1", &net(&none));
    assert_eq!(cel, "\"n\" in data && n != null && double(n) > 1");
    assert_eq!(run(&cel, json!({}), &[]), json!(false));
    assert_eq!(run(&cel, json!({"n": "2"}), &[]), json!(true));
}

#[test]
fn boolean_variable_equals_string_literal() {
    // makeTrip3: `/data/want_flight = 'true'` on a declared xs:boolean without a value.
    let v = vars(&[("want_flight", DataType::Boolean, false)]);
    let cel = pred("/data/want_flight = 'true'", &net(&v));
    assert_eq!(cel, "want_flight != null && want_flight == true");
    assert_eq!(run(&cel, json!({"want_flight": null}), &[]), json!(false));
    assert_eq!(run(&cel, json!({"want_flight": true}), &[]), json!(true));
    assert_eq!(run(&cel, json!({"want_flight": false}), &[]), json!(false));
}

#[test]
fn undeclared_variable_compares_false() {
    // CaseCancellation: the subnet declares no variables, yet its OR split tests
    // `/data/want_car = 'true'`; YAWL finds no element and takes no branch.
    let v = Vars::new();
    let cel = pred("/data/want_car = 'true'", &net(&v));
    assert_eq!(
        cel,
        "\"want_car\" in data && want_car != null && string(want_car) == \"true\""
    );
    assert_eq!(run(&cel, json!({}), &[]), json!(false));
    assert_eq!(run(&cel, json!({"want_car": "true"}), &[]), json!(true));
    assert_eq!(run(&cel, json!({"want_car": true}), &[]), json!(true));
}

#[test]
fn value_comparisons_and_strings() {
    let v = vars(&[
        ("name", DataType::String, true),
        ("n", DataType::Integer, true),
    ]);
    let s = net(&v);
    assert_eq!(pred("/Net/name eq 'Bob'", &s), "name == \"Bob\"");
    assert_eq!(pred("/Net/name ne 'Bob'", &s), "name != \"Bob\"");
    assert_eq!(pred("/Net/n lt 3", &s), "n < 3");
    assert_eq!(pred("/Net/n ge 3", &s), "n >= 3");
    assert_eq!(pred("/Net/n != 3", &s), "n != 3");
    assert_eq!(pred("/Net/name = 'it''s'", &s), "name == \"it's\"");
    // A number variable compared with a string compares the string forms.
    let cel = pred("/Net/n = '7'", &s);
    assert_eq!(cel, "string(n) == \"7\"");
    assert_eq!(run(&cel, json!({"n": 7}), &[]), json!(true));
}

#[test]
fn arithmetic() {
    let v = vars(&[
        ("a", DataType::Integer, true),
        ("x", DataType::Number, true),
    ]);
    let s = net(&v);
    let cel = pred("/Net/a + 2 * 3 > 10", &s);
    assert_eq!(cel, "a + 2 * 3 > 10");
    assert_eq!(run(&cel, json!({"a": 5}), &[]), json!(true));
    // Mixed integer and double arithmetic is done in doubles, as XPath does.
    let cel = pred("/Net/a - /Net/x < 1", &s);
    assert_eq!(cel, "double(a) - x < 1");
    assert_eq!(run(&cel, json!({"a": 2, "x": 1.5}), &[]), json!(true));
    let cel = pred("/Net/a div 2 = 2.5", &s);
    assert_eq!(cel, "double(a) / 2.0 == 2.5");
    assert_eq!(run(&cel, json!({"a": 5}), &[]), json!(true));
    assert_eq!(pred("/Net/a idiv 2 = 2", &s), "a / 2 == 2");
    assert_eq!(pred("/Net/a mod 2 = 1", &s), "a % 2 == 1");
    assert_eq!(pred("-/Net/a < 0", &s), "-a < 0");
    assert_eq!(pred("(/Net/a + 1) * 2 = 4", &s), "(a + 1) * 2 == 4");
    assert_eq!(map("/Net/a - (1 - 2)", &s), "a - (1 - 2)");
}

#[test]
fn logic() {
    let v = vars(&[
        ("a", DataType::Integer, true),
        ("b", DataType::Boolean, true),
    ]);
    let s = net(&v);
    let cel = pred("/Net/a > 1 and not(/Net/a > 5) or /Net/b = 'true'", &s);
    assert_eq!(cel, "a > 1 && !(a > 5) || b == true");
    assert_eq!(run(&cel, json!({"a": 3, "b": false}), &[]), json!(true));
    assert_eq!(run(&cel, json!({"a": 9, "b": false}), &[]), json!(false));
    assert_eq!(
        pred("/Net/a > 1 and (/Net/a < 3 or /Net/a > 7)", &s),
        "a > 1 && (a < 3 || a > 7)"
    );
    // `not()` of a comparison on a missing variable holds, as in XPath.
    let none = Vars::new();
    let cel = pred("not(/Net/x = 'a')", &net(&none));
    assert_eq!(run(&cel, json!({}), &[]), json!(true));
}

#[test]
fn truth_of_paths() {
    let v = vars(&[("t", DataType::String, false)]);
    let s = net(&v);
    // A declared element always exists; its text may be empty.
    assert_eq!(pred("/Net/t", &s), "true");
    let cel = pred("boolean(/Net/t/text())", &s);
    assert_eq!(cel, "t != null && t != \"\"");
    assert_eq!(run(&cel, json!({"t": ""}), &[]), json!(false));
    assert_eq!(run(&cel, json!({"t": "x"}), &[]), json!(true));
    let none = Vars::new();
    assert_eq!(pred("/Net/u", &net(&none)), "\"u\" in data");
    assert_eq!(
        pred("exists(/Net/u)", &net(&none)),
        "(\"u\" in data ? 1 : 0) > 0"
    );
}

#[test]
fn count_and_string_functions() {
    let v = vars(&[
        ("items", DataType::Array, false),
        ("name", DataType::String, true),
        ("n", DataType::Integer, true),
    ]);
    let s = net(&v);
    let cel = pred("count(/Net/items/*) > 2", &s);
    assert_eq!(cel, "(items != null ? size(items) : 0) > 2");
    assert_eq!(run(&cel, json!({"items": [1, 2, 3]}), &[]), json!(true));
    assert_eq!(run(&cel, json!({"items": null}), &[]), json!(false));
    let cel = pred("contains(/Net/name, 'ob')", &s);
    assert_eq!(cel, "name.contains(\"ob\")");
    assert_eq!(run(&cel, json!({"name": "Bob"}), &[]), json!(true));
    assert_eq!(
        pred("starts-with(/Net/name/text(), 'B')", &s),
        "name.startsWith(\"B\")"
    );
    assert_eq!(
        pred("ends-with(/Net/name, 'b')", &s),
        "name.endsWith(\"b\")"
    );
    assert_eq!(pred("string-length(/Net/name) = 3", &s), "size(name) == 3");
    let cel = map("concat('#', /Net/n, '-', /Net/name)", &s);
    assert_eq!(cel, "\"#\" + string(n) + \"-\" + name");
    assert_eq!(run(&cel, json!({"n": 4, "name": "x"}), &[]), json!("#4-x"));
    assert_eq!(map("string(/Net/n)", &s), "string(n)");
    assert_eq!(map("number('2.5')", &s), "2.5");
}

#[test]
fn element_constructor_mappings() {
    // WPC1Sequence, Sales, WPC22Recursion: `<x>{/Net/x/text()}</x>`.
    let v = vars(&[
        ("var", DataType::String, true),
        ("Cost", DataType::Integer, true),
    ]);
    let s = net(&v);
    // `var` is a CEL reserved word: read through `data`.
    assert_eq!(map("<var>{/Net/var/text()}</var>", &s), "data[\"var\"]");
    assert_eq!(map("<Cost>{/Net/Cost/text()}</Cost>", &s), "Cost");
    let out = vars(&[
        ("var", DataType::String, false),
        ("c", DataType::Integer, false),
    ]);
    let o = output(&out);
    assert_eq!(map("<var>{/A/var/text()}</var>", &o), "output[\"var\"]");
    assert_eq!(map("<c>{/A/c/text()}</c>", &o), "output.c");
    let cel = map("<c>{/A/c/text()}</c>", &o);
    assert_eq!(
        run(&cel, json!({}), &[("output", &json!({"c": 4}))]),
        json!(4)
    );
    // Text and enclosed expressions make a string; named elements make an object.
    assert_eq!(
        map("<greeting>Hello {/Net/var/text()}!</greeting>", &s),
        "\"Hello \" + data[\"var\"] + \"!\""
    );
    assert_eq!(
        map("<p><a>{/Net/Cost/text()}</a><b>x</b></p>", &s),
        "{\"a\": Cost, \"b\": \"x\"}"
    );
    assert_eq!(map("<empty/>", &s), "null");
}

#[test]
fn beta_paths_and_completed_mappings() {
    // makeTrip3, CancellationTest: `/data/x` for net data and for task output.
    let v = vars(&[
        ("customer", DataType::String, true),
        ("leg", DataType::Any, false),
    ]);
    assert_eq!(map("/data/customer", &net(&v)), "customer");
    assert_eq!(map("/data/leg/destination", &net(&v)), "leg.destination");
    let out = vars(&[("legs", DataType::Any, false)]);
    assert_eq!(map("/data/legs", &output(&out)), "output.legs");
    assert_eq!(map("/data/itinerary", &net(&Vars::new())), "itinerary");
}

#[test]
fn list_mappings() {
    // wListMaker: `<UserList>{/List_Maker/MasterList/*}</UserList>` and back.
    let v = vars(&[("MasterList", DataType::Array, false)]);
    let s = Scope::new(vec![Root {
        names: vec!["data".to_owned(), "List_Maker".to_owned()],
        object: Object::Net(&v),
    }]);
    assert_eq!(
        map("<UserList>{/List_Maker/MasterList/*}</UserList>", &s),
        "MasterList"
    );
    let out = vars(&[("UserList", DataType::Array, false)]);
    let o = Scope::new(vec![Root {
        names: vec!["Create_list_items".to_owned()],
        object: Object::Fields {
            code: "output".to_owned(),
            vars: Some(&out),
        },
    }]);
    assert_eq!(
        map(
            "<MasterList>{/Create_list_items/UserList/*}</MasterList>",
            &o
        ),
        "output.UserList"
    );
}

#[test]
fn conditional_mapping_with_count() {
    // makeTrip3's MI input: fall back to the backup legs when none were entered.
    let v = vars(&[
        ("legs", DataType::Any, false),
        ("legs_backup", DataType::Any, true),
    ]);
    let cel = map(
        "<legs> {if ( count(/data/legs/*) > 0) then /data/legs/* else /data/legs_backup/* }</legs>",
        &net(&v),
    );
    assert_eq!(
        cel,
        "(legs != null ? size(legs) : 0) > 0 ? legs : legs_backup"
    );
    let data = json!({"legs": null, "legs_backup": [{"to": "sydney"}]});
    assert_eq!(run(&cel, data, &[]), json!([{"to": "sydney"}]));
    let data = json!({"legs": [{"to": "perth"}], "legs_backup": []});
    assert_eq!(run(&cel, data, &[]), json!([{"to": "perth"}]));
}

#[test]
fn splits() {
    // YAWL_Specification2/3, CaseCancellation, Good/BadNet: the stub list.
    let v = vars(&[("stubList", DataType::Any, true)]);
    let s = net(&v);
    assert_eq!(
        split("/data/stubList", "for $d in /stubList/* return $d", &s).unwrap(),
        "stubList"
    );
    assert_eq!(
        split("/data/stubList", " for $d in /stubList/* return $d ", &s).unwrap(),
        "stubList"
    );
    // makeTrip3: the split source is a constructed `<legs>` document.
    let v = vars(&[
        ("legs", DataType::Any, false),
        ("legs_backup", DataType::Any, true),
    ]);
    let cel = split(
        "<legs> {if ( count(/data/legs/*) > 0) then /data/legs/* else /data/legs_backup/* }</legs>",
        " for $d in /legs/* return $d ",
        &net(&v),
    )
    .unwrap();
    assert_eq!(
        cel,
        "((legs != null ? size(legs) : 0) > 0 ? legs : legs_backup)"
    );
    // wListMaker: each element's text wrapped as the MI parameter is the element.
    let v = vars(&[("MasterList", DataType::Array, false)]);
    let s = Scope::new(vec![Root {
        names: vec!["List_Maker".to_owned()],
        object: Object::Net(&v),
    }]);
    let cel = split(
        "/List_Maker/MasterList",
        "for $e in /MasterList/* return    <SomeBob>{$e/text()}</SomeBob>",
        &s,
    )
    .unwrap();
    assert_eq!(cel, "MasterList");
    assert_eq!(
        run(&cel, json!({"MasterList": ["a", "b"]}), &[]),
        json!(["a", "b"])
    );
    // A `return` that computes something maps over the list.
    let cel = split(
        "/Net/stubList",
        "for $d in /stubList/* return $d/name",
        &net(&vars(&[])),
    )
    .unwrap();
    assert_eq!(cel, "stubList.map(d, d.name)");
    // The splitting query must start from the source's document.
    let err = split("/data/stubList", "for $d in /other/* return $d", &net(&v));
    assert!(
        matches!(err, Err(XPathError::Unsupported { .. })),
        "{err:?}"
    );
}

#[test]
fn mi_outputs() {
    // wListMaker: each instance's `SomeBob` becomes a `bob`; the `bob`s are joined.
    let out = vars(&[("SomeBob", DataType::String, false)]);
    let instance = Scope::new(vec![Root {
        names: vec!["data".to_owned(), "Verify_list".to_owned()],
        object: Object::Fields {
            code: "o".to_owned(),
            vars: Some(&out),
        },
    }]);
    let cel = mi_output(
        "<bob>{/Verify_list/SomeBob/text()}</bob>",
        "<MasterList>{for $d in /Verify_list/bob return $d}</MasterList>",
        &instance,
        vec!["data".to_owned(), "Verify_list".to_owned()],
    )
    .unwrap();
    assert_eq!(cel, "output.map(o, o.SomeBob)");
    let outputs = json!([{"SomeBob": "x"}, {"SomeBob": "y"}]);
    assert_eq!(
        run(&cel, json!({}), &[("output", &outputs)]),
        json!(["x", "y"])
    );

    // makeTrip3: each segment is an object of fields, some optional.
    let cel = mi_output(
        "<itinerarySegment>{ /data/leg/departure_location }{ /data/start_date }\
         { if(/data/flightDetails/text()) then /data/flightDetails else ()}{ /data/subTotal } \
         </itinerarySegment>",
        "<itinerary> { for $d in /data/itinerarySegment return $d } </itinerary>",
        &instance,
        vec!["data".to_owned()],
    )
    .unwrap();
    let outputs = json!([
        {"leg": {"departure_location": "bne"}, "start_date": "d1", "flightDetails": "QF1", "subTotal": 10},
        {"leg": {"departure_location": "syd"}, "start_date": "d2", "flightDetails": "", "subTotal": 20}
    ]);
    assert_eq!(
        run(&cel, json!({}), &[("output", &outputs)]),
        json!([
            {"departure_location": "bne", "start_date": "d1", "flightDetails": "QF1", "subTotal": 10},
            {"departure_location": "syd", "start_date": "d2", "flightDetails": null, "subTotal": 20}
        ])
    );
}

#[test]
fn untranslatable_forms() {
    let v = vars(&[("n", DataType::Integer, true)]);
    let s = net(&v);
    // LongLoops: a random branch.
    assert_eq!(
        unsupported(predicate("random()", &s)),
        "the function `random()`"
    );
    // makeTrip3's `total`: no sum in CEL's standard library.
    let total = "<total> { if(/data/itinerary/itinerarySegment/subTotal/text()) then \
                 sum( /data/itinerary/itinerarySegment/subTotal) else 0 } </total>";
    assert_eq!(
        unsupported(mapping(total, &s).map(|m| m.0)),
        "the function `sum()`"
    );
    assert!(unsupported(predicate("//n = 1", &s)).contains("descendant"));
    assert!(unsupported(predicate("/Net/items/item[1] = 1", &s)).contains("predicates"));
    assert!(unsupported(predicate("/Net/n/@unit = 'kg'", &s)).contains("attributes"));
    assert!(unsupported(predicate("/Other/n = 1", &s)).contains("/Other"));
    assert!(unsupported(predicate("timer(A) = 'expired'", &s)).contains("timer"));
    assert!(unsupported(predicate("n = 1", &s)).contains("relative"));
    assert!(unsupported(predicate("/Net/n = 1 | /Net/n", &s)).contains("union"));
    assert!(unsupported(predicate("(1, 2) = 1", &s)).contains("sequences"));
}

#[test]
fn syntax_errors() {
    let s = Scope::default();
    for bad in [
        "/Net/n =",
        "(1 + 2",
        "'open",
        "<a>{1}</b>",
        "1 2",
        "if (1) then 2",
        "",
    ] {
        assert!(
            matches!(predicate(bad, &s), Err(XPathError::Syntax { .. })),
            "{bad}: {:?}",
            predicate(bad, &s)
        );
    }
}

#[test]
fn odd_names_and_hidden_fields() {
    let v = vars(&[
        ("my-var", DataType::Integer, true),
        ("stub", DataType::Any, true),
    ]);
    let mut s = net(&v);
    assert_eq!(pred("/Net/my-var > 1", &s), "data[\"my-var\"] > 1");
    assert_eq!(pred("/Net/my-var - 1 > 1", &s), "data[\"my-var\"] - 1 > 1");
    // An MI item binding hides the net field of the same name.
    s.hidden.push("stub".to_owned());
    assert_eq!(map("/Net/stub", &s), "data.stub");
    assert_eq!(map("/Net/stub/a-b", &s), "data.stub[\"a-b\"]");
}

#[test]
fn every_corpus_query_parses() {
    // The remaining `query="..."` texts of the corpus, as a parser regression list.
    for query in [
        "/data/stub",
        "/data/stubList",
        "/data/payment_account_number",
        "<OrderNum>{/Sales/OrderNum/text()}</OrderNum>",
        "<Paid>{/Receive_Payment/Paid/text()}</Paid>",
        "<cond>{/Net/cond/text()}</cond>",
        "<cond>{/E/cond/text()}</cond>",
        "<MasterList>{/Show_list/UserList/*}</MasterList>",
        "<itinerary> { for $d in /data/itinerarySegment return $d } </itinerary>",
        "<itinerarySegment>{ /data/leg/departure_location }{ /data/leg/destination }{ /data/start_date }{ /data/end_date }{ if(/data/flightDetails/text()) then /data/flightDetails else ()}{ if(/data/carDetails/text()) then /data/carDetails else() }{ if(/data/hotelDetails/text()) then /data/hotelDetails else() }{ /data/subTotal } </itinerarySegment>",
    ] {
        assert!(parse::parse(query).is_ok(), "{query}");
    }
}

#[test]
fn hostile_nesting_is_refused_not_overflowed() {
    let s = Scope::default();
    let long_sum = format!("1{}", " + 1".repeat(5_000));
    let brackets = format!("{}1{}", "(".repeat(5_000), ")".repeat(5_000));
    let ifs = format!("{}1", "if (1) then 1 else ".repeat(5_000));
    let nots = format!("{}true(){}", "not(".repeat(5_000), ")".repeat(5_000));
    let elements = format!("{}{}", "<a>".repeat(5_000), "</a>".repeat(5_000));
    for hostile in [long_sum, brackets, ifs, nots, elements] {
        let result = mapping(&hostile, &s);
        assert!(
            matches!(result, Err(XPathError::Unsupported { .. })),
            "{}: {result:?}",
            &hostile[..20]
        );
    }
    // A long but reasonable chain still translates.
    let v = vars(&[("a", DataType::Integer, true)]);
    let chain = format!("/Net/a{}", " + 1".repeat(100));
    assert!(mapping(&chain, &net(&v)).is_ok());
}
