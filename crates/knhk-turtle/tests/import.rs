//! Import behaviour beyond the examples: the other spellings (YAWL's `hasSplit [ a ... ]`,
//! `flowsInto`/`nextElementRef`, predicate resources, `removesTokensFromFlow`), several
//! nets, relative IRIs, id derivation, and errors that name the IRI and the property.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use knhk_model::{DataType, JoinCode, SplitCode, TaskKind, validate};
use knhk_turtle::{ImportWarning, TurtleError, import};
use serde_json::json;

const PREFIXES: &str = "@prefix yawl: <http://bitflow.ai/ontology/yawl/v2#> .\n\
    @prefix knhk: <http://knhk.dev/ontology#> .\n\
    @prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n\
    @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n";

fn doc(body: &str) -> String {
    format!("{PREFIXES}@base <http://example.org/wf/> .\n{body}")
}

/// A specification that is its own net: `i -> a -> o`, with `extra` added to `<a>`.
fn sequence(extra: &str) -> String {
    doc(&format!(
        "<s> a yawl:Specification ; yawl:hasInputCondition <i> ; yawl:hasOutputCondition <o> ;
            yawl:hasTask <a> .
         <a> a yawl:AtomicTask ; yawl:hasIncomingFlow <i> ; yawl:hasOutgoingFlow <o> {extra} ."
    ))
}

/// The innermost cause and the (subject, property) path of an error.
fn path(err: &TurtleError) -> (Vec<(String, String)>, &TurtleError) {
    let mut steps = Vec::new();
    let mut err = err;
    while let TurtleError::At {
        subject,
        property,
        source,
    } = err
    {
        steps.push((subject.clone(), property.clone()));
        err = source;
    }
    (steps, err)
}

fn yawl(local: &str) -> String {
    format!("http://bitflow.ai/ontology/yawl/v2#{local}")
}

fn ex(local: &str) -> String {
    format!("http://example.org/wf/{local}")
}

#[test]
fn yawl_spelling_of_splits_joins_and_flows() {
    let text = doc(r#"
        <s> a yawl:Specification ;
            yawl:hasInputCondition <i> ; yawl:hasOutputCondition <o> ;
            yawl:hasCondition <i>, <o> ;
            yawl:hasTask <a>, <b>, <c>, <d> .
        <i> a yawl:InputCondition ; yawl:flowsInto [ yawl:nextElementRef <a> ] .
        <a> a yawl:Task ;
            yawl:hasJoin yawl:ControlTypeXor ;
            yawl:hasSplit [ a yawl:ControlTypeXor ] ;
            yawl:flowsInto [ yawl:nextElementRef <b> ;
                             yawl:hasPredicate [ yawl:query "total > 10" ; yawl:ordering 1 ] ] ,
                           [ yawl:nextElementRef <c> ; yawl:isDefaultFlow true ] .
        <b> a yawl:Task ; yawl:join "XOR" ; yawl:split yawl:ControlTypeAnd ; yawl:flowsInto <d> .
        <c> a yawl:Task ; yawl:hasSplitType yawl:OR ; yawl:flowsInto <d> .
        <d> a yawl:Task ; yawl:hasJoin [ a yawl:ControlTypeOr ] ; yawl:flowsInto <o> .
    "#);
    let import = import(&text, None).unwrap();
    let net = &import.spec.nets[0];
    // `hasCondition` may list the input and output conditions too.
    assert!(net.conditions.is_empty());
    let task = |id: &str| net.task(id).unwrap();
    assert_eq!(
        (task("a").join, task("a").split),
        (JoinCode::Xor, SplitCode::Xor)
    );
    assert_eq!(
        (task("b").join, task("b").split),
        (JoinCode::Xor, SplitCode::And)
    );
    assert_eq!(task("c").split, SplitCode::Or);
    assert_eq!(task("d").join, JoinCode::Or);
    let arcs: Vec<_> = net
        .flows
        .iter()
        .map(|f| (f.from.as_str(), f.to.as_str()))
        .collect();
    assert_eq!(
        arcs,
        [
            ("i", "a"),
            ("a", "b"),
            ("a", "c"),
            ("b", "d"),
            ("c", "d"),
            ("d", "o")
        ]
    );
    assert_eq!(net.flows[1].predicate.as_deref(), Some("total > 10"));
    assert_eq!(net.flows[1].ordering, Some(1));
    assert!(net.flows[2].default);
    assert!(import.warnings.is_empty(), "{:?}", import.warnings);
    assert!(validate(import.spec).is_ok());
}

#[test]
fn several_nets_composite_tasks_and_variables() {
    let text = doc(r#"
        <s> a yawl:Specification ; yawl:specName "Two nets" ; yawl:documentation "docs" ;
            yawl:hasDecomposition <sub>, <main> .
        <main> a yawl:Net ; yawl:isRootNet true ;
            yawl:hasInputCondition <main/i> ; yawl:hasOutputCondition <main/o> ;
            yawl:hasTask <main/call> ;
            yawl:hasLocalVariable [ yawl:varName "total" ; yawl:varType "decimal" ;
                                    yawl:initialValue "2.5"^^xsd:decimal ] ,
                                  [ yawl:varName "ok" ; yawl:initialValue true ] ,
                                  [ yawl:varName "items" ; yawl:varType "array" ;
                                    yawl:initialValue "[1, {\"a\": null}]"^^rdf:JSON ] ,
                                  [ yawl:varName "label" ; yawl:initialValue "plain text" ] .
        <main/call> a yawl:CompositeTask ; yawl:decomposesTo <sub> ;
            yawl:hasIncomingFlow <main/i> ; yawl:hasOutgoingFlow <main/o> .
        <sub> a yawl:Net ; yawl:hasInputCondition <sub/i> ; yawl:hasOutputCondition <sub/o> ;
            yawl:hasTask <sub/work> ; knhk:termination "implicit" .
        <sub/work> a yawl:AtomicTask ; knhk:service "billing" ;
            yawl:hasIncomingFlow <sub/i> ; yawl:hasOutgoingFlow <sub/o> .
    "#);
    let import = import(&text, None).unwrap();
    let spec = &import.spec;
    assert_eq!(spec.root_net, "main");
    assert_eq!(spec.documentation.as_deref(), Some("docs"));
    // Nets keep the document's order; the root is the one marked.
    let nets: Vec<_> = spec.nets.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(nets, ["sub", "main"]);
    let main = spec.net("main").unwrap();
    assert_eq!(main.tasks[0].kind, TaskKind::Composite);
    assert_eq!(main.tasks[0].net.as_deref(), Some("sub"));
    // Element ids are local names: `main/i` and `sub/i` are in different nets.
    assert_eq!(main.input_condition.id, "i");
    let values: Vec<_> = main.variables.iter().map(|v| v.initial.clone()).collect();
    assert_eq!(
        values,
        [
            Some(json!(2.5)),
            Some(json!(true)),
            Some(json!([1, {"a": null}])),
            Some(json!("plain text"))
        ]
    );
    assert_eq!(main.variables[0].data_type, DataType::Number);
    let sub = spec.net("sub").unwrap();
    assert_eq!(sub.termination, knhk_model::Termination::Implicit);
    assert_eq!(sub.tasks[0].service.as_deref(), Some("billing"));
    assert_eq!(import.iris.net("sub"), Some(ex("sub").as_str()));
    assert!(validate(import.spec).is_ok());
}

#[test]
fn cancelling_a_flow_cancels_its_implicit_condition() {
    let text = doc(r#"
        <s> a yawl:Specification ; yawl:hasInputCondition <i> ; yawl:hasOutputCondition <o> ;
            yawl:hasTask <a>, <b>, <x> ; yawl:hasFlow <f1>, <f2>, <f3>, <f4>, <f5> .
        <f1> a yawl:Flow ; yawl:flowsFrom <i> ; yawl:flowsInto <a> .
        <f2> a yawl:Flow ; yawl:flowsFrom <a> ; yawl:flowsInto <b> .
        <f3> a yawl:Flow ; yawl:flowsFrom <b> ; yawl:flowsInto <o> .
        <f4> a yawl:Flow ; yawl:flowsFrom <i> ; yawl:flowsInto <x> .
        <f5> a yawl:Flow ; yawl:flowsFrom <x> ; yawl:flowsInto <o> .
        <a> a yawl:AtomicTask . <b> a yawl:AtomicTask .
        <x> a yawl:AtomicTask ; yawl:removesTokensFromFlow <f2> ;
            yawl:cancellationRegion [ yawl:cancels <b> ] ; yawl:removesTokens <a> .
    "#);
    let import = import(&text, None).unwrap();
    let x = import.spec.nets[0].task("x").unwrap();
    // In document order of the members.
    assert_eq!(x.cancellation_set, ["c{a_b}", "b", "a"]);
    assert!(validate(import.spec.clone()).is_ok());
}

#[test]
fn relative_iris_resolve_against_the_base() {
    let text = format!(
        "{PREFIXES}
        <spec> a yawl:Specification ; yawl:hasInputCondition <#i> ; yawl:hasOutputCondition <#o> ;
            yawl:hasTask <#a> .
        <#a> a yawl:AtomicTask ; yawl:hasIncomingFlow <#i> ; yawl:hasOutgoingFlow <#o> ."
    );
    let import = import(&text, Some("http://example.org/flows/spec")).unwrap();
    assert_eq!(import.iris.spec(), "http://example.org/flows/spec");
    assert_eq!(
        import.iris.element("spec", "a"),
        Some("http://example.org/flows/spec#a")
    );
    assert_eq!(import.spec.nets[0].tasks[0].id, "a");

    // Without a base, a relative IRI cannot be resolved.
    assert!(matches!(import_err(&text), TurtleError::Syntax { .. }));
    let err = knhk_turtle::import(&text, Some("not a base")).unwrap_err();
    assert!(matches!(err, TurtleError::BadBase { ref base, .. } if base == "not a base"));
}

fn import_err(text: &str) -> TurtleError {
    knhk_turtle::import(text, None).unwrap_err()
}

#[test]
fn shared_local_names_take_another_segment() {
    let text = doc(r#"
        <s> a yawl:Specification ;
            yawl:hasStartCondition <condition/start> ; yawl:hasEndCondition <condition/end> ;
            yawl:hasTask <task/start>, <task/end> .
        <task/start> a yawl:Task ; yawl:hasIncomingFlow <condition/start> ;
            yawl:hasOutgoingFlow <task/end> .
        <task/end> a yawl:Task ; yawl:hasOutgoingFlow <condition/end> .
    "#);
    let import = import(&text, None).unwrap();
    let net = &import.spec.nets[0];
    assert_eq!(net.input_condition.id, "condition/start");
    assert_eq!(net.output_condition.id, "condition/end");
    let tasks: Vec<_> = net.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(tasks, ["task/start", "task/end"]);
    assert!(validate(import.spec).is_ok());
}

#[test]
fn knhk_ids_and_names_are_taken_as_written() {
    let text = sequence(r#"; knhk:id "approve" ; yawl:taskName "Approve""#);
    let import = import(&text, None).unwrap();
    let task = &import.spec.nets[0].tasks[0];
    assert_eq!(task.id, "approve");
    assert_eq!(task.name.as_deref(), Some("Approve"));
    // Without knhk:id, the name carries the IRI (and stands in for a missing label).
    let input = &import.spec.nets[0].input_condition;
    assert_eq!(input.name, Some(format!("<{}>", ex("i"))));
}

#[test]
fn warnings_for_what_is_not_imported() {
    let text = format!(
        "{}\n<stray> a yawl:AtomicTask .\n<loose> a yawl:Flow ; yawl:flowsFrom <nowhere> .",
        sequence("; yawl:priority 3 ; yawl:paramType \"x\"")
    );
    let import = import(&text, None).unwrap();
    let warnings = &import.warnings;
    assert!(warnings.contains(&ImportWarning::Unsupported {
        subject: ex("a"),
        property: yawl("priority"),
    }));
    assert!(warnings.contains(&ImportWarning::Orphan {
        subject: ex("stray")
    }));
    assert!(warnings.contains(&ImportWarning::Orphan {
        subject: ex("loose")
    }));
    let text = warnings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("<http://example.org/wf/a> yawl:priority: not imported"),
        "{text}"
    );
}

#[test]
fn unknown_data_type_is_any_with_a_warning() {
    let text =
        sequence(r#"; yawl:hasInputParameter [ yawl:paramName "p" ; yawl:paramType "currency" ]"#);
    let import = import(&text, None).unwrap();
    assert_eq!(
        import.spec.nets[0].tasks[0].inputs[0].data_type,
        DataType::Any
    );
    assert!(import.warnings.iter().any(|w| matches!(
        w,
        ImportWarning::Ignored { property, value, .. }
            if *property == yawl("paramType") && value == "\"currency\""
    )));
}

#[test]
fn syntax_errors_give_line_and_column() {
    // Four prefix lines and the base, then the body: its second line has a third term
    // where a `;` or `.` belongs.
    let err = import_err(&doc("<a> yawl:hasTask <b> ;\n  <c> <d> <e> ."));
    let TurtleError::Syntax { line, column, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!((*line, *column), (7, 11), "{err}");
}

#[test]
fn one_specification_per_document() {
    assert_eq!(
        import_err(&doc("<a> yawl:hasTask <b> .")),
        TurtleError::NoSpecification
    );
    let err = import_err(&doc(
        "<a> a yawl:Specification . <b> a yawl:WorkflowSpecification .",
    ));
    assert_eq!(
        err,
        TurtleError::SeveralSpecifications {
            specs: vec![ex("a"), ex("b")]
        }
    );
}

/// Each error names the resource's IRI and the property, and the message reads well.
#[test]
fn errors_name_the_iri_and_the_property() {
    let cases = [
        (
            sequence("; yawl:join yawl:ControlTypeNand"),
            vec![(ex("a"), yawl("join"))],
            "<http://example.org/wf/a> yawl:join: \
             <http://bitflow.ai/ontology/yawl/v2#ControlTypeNand> is not a control type (AND, XOR, OR)",
        ),
        (
            sequence(r#"; a yawl:MultipleInstanceTask ; yawl:minInstances "many""#),
            vec![(ex("a"), yawl("minInstances"))],
            "<http://example.org/wf/a> yawl:minInstances: \"many\" is not a whole number from 0 to 4294967295",
        ),
        (
            sequence(r#"; yawl:split yawl:ControlTypeAnd, yawl:ControlTypeXor"#),
            vec![(ex("a"), yawl("split"))],
            "<http://example.org/wf/a> yawl:split: several values: \
             <http://bitflow.ai/ontology/yawl/v2#ControlTypeAnd>, <http://bitflow.ai/ontology/yawl/v2#ControlTypeXor>",
        ),
        (
            sequence("; yawl:hasOutgoingFlow <elsewhere>"),
            vec![(ex("a"), yawl("hasOutgoingFlow"))],
            "<http://example.org/wf/a> yawl:hasOutgoingFlow: <http://example.org/wf/elsewhere> \
             is not a condition or task of net <http://example.org/wf/s>",
        ),
        (
            sequence(r#"; yawl:hasInputParameter [ yawl:paramType "string" ]"#),
            vec![(ex("a"), yawl("hasInputParameter")), (String::new(), yawl("paramName"))],
            "<http://example.org/wf/a> yawl:hasInputParameter: [] yawl:paramName: missing",
        ),
        (
            sequence(r#"; yawl:timeout "soon""#),
            vec![(ex("a"), yawl("timeout"))],
            "<http://example.org/wf/a> yawl:timeout: \"soon\" is not a duration \
             (\"30s\", \"500ms\", \"5min\", \"2h\", \"1d\", \"PT30S\")",
        ),
        (
            sequence(r#"; yawl:taskName <notALiteral>"#),
            vec![(ex("a"), yawl("taskName"))],
            "<http://example.org/wf/a> yawl:taskName: expected a literal, found <http://example.org/wf/notALiteral>",
        ),
        (
            doc("<s> a yawl:Specification ; yawl:hasOutputCondition <o> ; yawl:hasTask <a> ."),
            vec![(ex("s"), yawl("hasInputCondition"))],
            "<http://example.org/wf/s> yawl:hasInputCondition: missing",
        ),
        (
            doc("<s> a yawl:Specification ; yawl:hasInputCondition <i> ; \
                 yawl:hasOutputCondition <o> ; yawl:hasTask [ a yawl:Task ] ."),
            vec![(ex("s"), yawl("hasTask"))],
            "<http://example.org/wf/s> yawl:hasTask: a net or net element must be named by an IRI, not a blank node",
        ),
        (
            doc("<s> a yawl:Specification ; yawl:hasInputCondition <i> ; yawl:hasOutputCondition <o> ;
                 yawl:hasTask <a> ; yawl:hasFlow <f> .
                 <f> a yawl:Flow ; yawl:flowsInto <a> ."),
            vec![(ex("f"), yawl("flowsFrom"))],
            "<http://example.org/wf/f> yawl:flowsFrom: missing",
        ),
        (
            doc(r#"<s> a yawl:Specification ; yawl:hasInputCondition <i> ; yawl:hasOutputCondition <o> ;
                 yawl:hasTask <a> ; yawl:hasFlow <f>, <g> .
                 <f> a yawl:Flow ; yawl:flowsFrom <a> ; yawl:flowsInto <o> ; yawl:predicate "x" .
                 <g> a yawl:Flow ; yawl:flowsFrom <a> ; yawl:flowsInto <o> ; yawl:predicate "y" ."#),
            vec![(ex("s"), yawl("hasFlow"))],
            "<http://example.org/wf/s> yawl:hasFlow: the arc a -> o is described twice with different predicates",
        ),
        (
            doc("<s> a yawl:Specification ; yawl:hasDecomposition <n1>, <n2> .
                 <n1> a yawl:Net . <n2> a yawl:Net ."),
            vec![(ex("s"), yawl("hasRootNet"))],
            "<http://example.org/wf/s> yawl:hasRootNet: missing",
        ),
    ];
    for (text, expected_path, message) in cases {
        let err = import_err(&text);
        let (steps, _) = path(&err);
        // Blank nodes have generated labels: compare only that they are blank.
        let steps: Vec<_> = steps
            .into_iter()
            .map(|(s, p)| {
                (
                    if s.starts_with("_:") {
                        String::new()
                    } else {
                        s
                    },
                    p,
                )
            })
            .collect();
        assert_eq!(steps, expected_path, "{err}");
        assert_eq!(err.to_string(), message);
    }
}
