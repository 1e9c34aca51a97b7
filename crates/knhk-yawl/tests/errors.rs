#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Import errors and warnings on small hand-written documents: each names the element
//! and line, and lenient mode turns untranslatable expressions into warnings whose
//! stand-ins fail visibly at run time.

use std::sync::Arc;

use knhk_kernel::{Case, Command, CommandError, CompiledSpec, Limits, WorkItemStatus};
use knhk_model::{TaskKind, TimerTrigger};
use knhk_yawl::{
    Fallback, ImportOptions, ImportWarning, Site, TimerIssue, XPathError, YawlError, import,
};
use serde_json::json;

/// A 4.0 document whose root net `Net` has `variables` and `elements` between its
/// input condition `i` (flowing to `A`) and output condition `o`.
fn doc(variables: &str, elements: &str, decompositions: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<specificationSet xmlns="http://www.yawlfoundation.org/yawlschema"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="4.0">
  <specification uri="t">
    <metaData/>
    <decomposition id="Net" isRootNet="true" xsi:type="NetFactsType">
      {variables}
      <processControlElements>
        <inputCondition id="i"><flowsInto><nextElementRef id="A"/></flowsInto></inputCondition>
        {elements}
        <outputCondition id="o"/>
      </processControlElements>
    </decomposition>
    {decompositions}
  </specification>
</specificationSet>"#
    )
}

/// Task `A` to `o` with `inner` elements after its flows, decomposing to `W`.
fn task_a(split: &str, flows: &str, inner: &str) -> String {
    format!(
        r#"<task id="A">{flows}<join code="xor"/><split code="{split}"/>{inner}
             <decomposesTo id="W"/></task>"#
    )
}

const WORK: &str = r#"<decomposition id="W" xsi:type="WebServiceGatewayFactsType"/>"#;

fn strict(xml: &str) -> Result<knhk_yawl::Import, YawlError> {
    import(xml, &ImportOptions::strict())
}

fn line_of(error: &YawlError) -> (u32, &str) {
    match error {
        YawlError::At { line, element, .. } => (*line, element.as_str()),
        other => panic!("no location: {other:?}"),
    }
}

#[test]
fn malformed_xml_and_foreign_documents() {
    let error = strict("<specificationSet>\n  <oops></specificationSet>").unwrap_err();
    assert!(matches!(error, YawlError::Xml { line: 2, .. }), "{error:?}");
    let error = strict(r#"<specificationSet xmlns="urn:other"/>"#).unwrap_err();
    assert_eq!(
        error,
        YawlError::NotYawl {
            element: "specificationSet".to_owned(),
            namespace: "urn:other".to_owned()
        }
    );
    let error = strict(r#"<x xmlns="http://www.citi.qut.edu.au/yawl"/>"#).unwrap_err();
    assert!(matches!(error, YawlError::NotYawl { .. }));
    let error =
        strict(r#"<specificationSet xmlns="http://www.citi.qut.edu.au/yawl"/>"#).unwrap_err();
    assert_eq!(
        error.root_cause(),
        &YawlError::MissingElement {
            parent: "specificationSet".to_owned(),
            child: "specification"
        }
    );
}

#[test]
fn structural_errors_name_element_and_line() {
    let flows = r#"<flowsInto><nextElementRef id="o"/></flowsInto>"#;
    // A task decomposing to nothing known.
    let error = strict(&doc("", &task_a("and", flows, ""), "")).unwrap_err();
    assert_eq!(line_of(&error), (11, "decomposesTo"));
    assert_eq!(
        error.root_cause(),
        &YawlError::UnknownDecomposition {
            task: "A".to_owned(),
            decomposition: "W".to_owned()
        }
    );
    // A task without its split code.
    let xml = doc(
        "",
        &format!(r#"<task id="A">{flows}<join code="xor"/></task>"#),
        "",
    );
    let error = strict(&xml).unwrap_err();
    assert_eq!(line_of(&error), (10, "task"));
    assert!(
        error.to_string().contains("`task` has no `split`"),
        "{error}"
    );
    // A bad split code.
    let error = strict(&doc("", &task_a("nand", flows, ""), WORK)).unwrap_err();
    assert_eq!(line_of(&error), (10, "split"));
    // No root net.
    let xml = doc("", "", "").replace(r#"isRootNet="true""#, "");
    assert_eq!(
        strict(&xml).unwrap_err().root_cause(),
        &YawlError::NoRootNet
    );
}

#[test]
fn initial_values_must_fit_their_type() {
    let variable = r#"<localVariable><index>0</index><name>n</name><type>long</type>
        <namespace>http://www.w3.org/2001/XMLSchema</namespace>
        <initialValue>many</initialValue></localVariable>"#;
    let flows = r#"<flowsInto><nextElementRef id="o"/></flowsInto>"#;
    let xml = doc(variable, &task_a("and", flows, ""), WORK);
    let error = strict(&xml).unwrap_err();
    assert_eq!(line_of(&error), (9, "initialValue"));
    assert!(matches!(error.root_cause(), YawlError::BadValue { .. }));
    let imported = import(&xml, &ImportOptions::lenient()).unwrap();
    assert_eq!(imported.spec.nets[0].variables[0].initial, None);
    assert!(matches!(
        &imported.warnings[0],
        ImportWarning::BadInitialValue { variable, .. } if variable == "n"
    ));
}

#[test]
fn untranslatable_predicate_fails_at_run_time_in_lenient_mode() {
    // An OR split whose non-default flow's predicate cannot be translated.
    let flows = r#"<flowsInto><nextElementRef id="o"/><predicate>random() &gt; 0.5</predicate></flowsInto>
        <flowsInto><nextElementRef id="B"/><predicate>true()</predicate><isDefaultFlow/></flowsInto>"#;
    let b = r#"<task id="B"><flowsInto><nextElementRef id="o"/></flowsInto>
        <join code="xor"/><split code="and"/></task>"#;
    let xml = doc("", &format!("{}{b}", task_a("or", flows, "")), WORK);
    let error = strict(&xml).unwrap_err();
    assert_eq!(line_of(&error), (10, "predicate"));
    let YawlError::Untranslated(untranslated) = error.root_cause() else {
        panic!("{error:?}");
    };
    assert_eq!(untranslated.task, "A");
    assert_eq!(untranslated.site, Site::Predicate);
    assert_eq!(untranslated.flow.as_ref().map(|f| f.to.as_str()), Some("o"));
    assert!(matches!(
        untranslated.reason,
        XPathError::Unsupported { .. }
    ));
    assert!(
        error
            .to_string()
            .contains("task `A`, predicate of flow A -> o: cannot translate `random() > 0.5`"),
        "{error}"
    );

    let imported = import(&xml, &ImportOptions::lenient()).unwrap();
    assert!(matches!(
        &imported.warnings[0],
        ImportWarning::Untranslated {
            fallback: Fallback::Marker,
            line: 10,
            ..
        }
    ));
    let predicate = imported.spec.nets[0].flows[1].predicate.clone().unwrap();
    assert_eq!(predicate, "\"untranslated XPath: random() > 0.5\"");
    // The case runs until the predicate is needed, then refuses, naming the XPath.
    let valid = knhk_model::validate(imported.spec).unwrap();
    let spec =
        Arc::new(CompiledSpec::compile(&valid, &knhk_expr::CelEvaluator::default()).unwrap());
    let (mut case, _) = Case::launch(spec, json!({}), 1, Limits::default()).unwrap();
    let offer = case.work_items().next().unwrap().id;
    case.apply(&Command::StartWorkItem { work_item: offer })
        .unwrap();
    let started = case
        .work_items()
        .find(|w| w.status == WorkItemStatus::Started)
        .unwrap()
        .id;
    let error = case
        .apply(&Command::CompleteWorkItem {
            work_item: started,
            output: json!({}),
        })
        .unwrap_err();
    let CommandError::Predicate { expression, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(expression.contains("untranslated XPath: random() > 0.5"));
}

#[test]
fn timers() {
    let flows = r#"<flowsInto><nextElementRef id="o"/></flowsInto>"#;
    let with_timer = |timer: &str| doc("", &task_a("and", flows, timer), WORK);
    let timer_of = |xml: &str| {
        let imported = strict(xml).unwrap();
        (
            imported.spec.nets[0].tasks[0].timer.clone(),
            imported.warnings,
        )
    };
    let (timer, warnings) = timer_of(&with_timer(
        "<timer><trigger>OnEnabled</trigger><expiry>1700000000000</expiry></timer>",
    ));
    let timer = timer.unwrap();
    assert_eq!(timer.trigger, TimerTrigger::OnEnabled);
    assert_eq!(
        (timer.duration_ms, timer.expiry_ms),
        (None, Some(1_700_000_000_000))
    );
    assert!(warnings.is_empty());
    let (timer, _) = timer_of(&with_timer(
        "<timer><trigger>OnExecuting</trigger><durationparams><ticks>3</ticks>\
         <interval>MIN</interval></durationparams></timer>",
    ));
    assert_eq!(timer.unwrap().duration_ms, Some(180_000));
    let (timer, warnings) = timer_of(&with_timer(
        "<timer><trigger>OnEnabled</trigger><duration>P1M</duration><workdays>true</workdays></timer>",
    ));
    assert_eq!(timer.unwrap().duration_ms, Some(30 * 24 * 3_600_000));
    let issues: Vec<_> = warnings
        .iter()
        .map(|w| match w {
            ImportWarning::Timer { issue, .. } => *issue,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        issues,
        [TimerIssue::CalendarApproximated, TimerIssue::Workdays]
    );
    let (timer, warnings) = timer_of(&with_timer("<timer><netparam>deadline</netparam></timer>"));
    assert_eq!(timer, None);
    assert!(matches!(
        warnings.as_slice(),
        [ImportWarning::Timer { issue: TimerIssue::NetParam, task, .. }] if task == "A"
    ));
    let error = strict(&with_timer(
        "<timer><trigger>OnEnabled</trigger><duration>soon</duration></timer>",
    ))
    .unwrap_err();
    assert_eq!(line_of(&error).1, "duration");
}

#[test]
fn an_empty_task_keeps_no_timer_or_mappings() {
    let xml = doc(
        "",
        r#"<task id="A"><flowsInto><nextElementRef id="o"/></flowsInto>
             <join code="xor"/><split code="and"/>
             <startingMappings><mapping><expression query="/Net/x"/><mapsTo>x</mapsTo></mapping>
             </startingMappings>
             <timer><trigger>OnEnabled</trigger><duration>PT1S</duration></timer></task>"#,
        "",
    );
    let imported = strict(&xml).unwrap();
    let task = &imported.spec.nets[0].tasks[0];
    assert_eq!(task.kind, TaskKind::Empty);
    assert!(task.input_mappings.is_empty() && task.timer.is_none());
    assert!(matches!(
        imported.warnings.as_slice(),
        [
            ImportWarning::MappingWithoutWork { to, .. },
            ImportWarning::Timer { issue: TimerIssue::EmptyTask, .. }
        ] if to == "x"
    ));
    knhk_model::validate(imported.spec).unwrap();
}

#[test]
fn beta_root_net_recursion_and_extra_specifications() {
    let xml = r#"<specificationSet xmlns="http://www.citi.qut.edu.au/yawl"
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
      <specification uri="one">
        <metaData/>
        <rootNet id="top">
          <localVariable name="n"><type>xs:int</type><initialValue>1</initialValue></localVariable>
          <processControlElements>
            <inputCondition id="i"><flowsInto><nextElementRef id="again"/></flowsInto></inputCondition>
            <task id="again">
              <flowsInto><nextElementRef id="o"/></flowsInto>
              <join code="xor"/><split code="and"/>
              <startingMappings><mapping><expression query="/data/n"/><mapsTo>n</mapsTo></mapping></startingMappings>
              <decomposesTo id="top"/>
            </task>
            <outputCondition id="o"/>
          </processControlElements>
        </rootNet>
      </specification>
      <specification uri="two"><metaData/></specification>
    </specificationSet>"#;
    let imported = strict(xml).unwrap();
    let task = &imported.spec.nets[0].tasks[0];
    assert_eq!(
        (task.kind, task.net.as_deref()),
        (TaskKind::Composite, Some("top"))
    );
    assert_eq!(task.input_mappings[0].expression, "n");
    assert_eq!(imported.spec.nets[0].variables[0].initial, Some(json!(1)));
    assert_eq!(
        imported.warnings,
        [ImportWarning::ExtraSpecification {
            line: 19,
            uri: "two".to_owned()
        }]
    );
}

#[test]
fn a_missing_file_is_an_io_error() {
    let error =
        knhk_yawl::import_file("/nonexistent/x.yawl", &ImportOptions::strict()).unwrap_err();
    assert!(matches!(error, YawlError::Io { .. }));
}
