//! The XES mapping and writer on hand-made histories: lifecycle mapping, resources,
//! the time window, order, dates and escaping, asserted on the XML text.

#![allow(clippy::unwrap_used)]

use knhk_kernel::{Command, NetInstanceId, TaskId};
use serde_json::json;

use super::*;

const T: u64 = 1_700_000_000_000;

fn enabled(work_item: u64, task: &str) -> Event {
    Event::WorkItemEnabled {
        work_item: WorkItemId(work_item),
        net_instance: NetInstanceId(0),
        task: TaskId::from(task),
    }
}

fn entry(seq: u64, at_ms: u64, action: Action, events: Vec<Event>) -> HistoryEntry {
    HistoryEntry {
        seq,
        at_ms,
        action,
        events,
    }
}

fn command(command: Command, worker: Option<&str>) -> Action {
    Action::Command {
        command,
        worker: worker.map(str::to_owned),
    }
}

fn launch() -> Action {
    Action::Launch {
        spec: crate::SpecRef {
            id: "s".to_owned(),
            version: 1,
        },
        data: json!({}),
        seed: 0,
        limits: knhk_kernel::Limits::default(),
        trace: None,
    }
}

fn item(n: u64) -> WorkItemId {
    WorkItemId(n)
}

/// a enabled; allocated to ann; claimed by bot; released; started by ann; suspended,
/// resumed, completed; b enabled and withdrawn unstarted; c enabled, started, cancelled;
/// d enabled, started, failed.
fn history() -> Vec<HistoryEntry> {
    let start = |n| Command::StartWorkItem { work_item: item(n) };
    vec![
        entry(0, T, launch(), vec![enabled(1, "a")]),
        entry(
            1,
            T + 1,
            Action::Offer {
                work_item: item(1),
                participants: vec!["ann".to_owned(), "bob".to_owned()],
            },
            vec![],
        ),
        entry(
            2,
            T + 2,
            Action::Allocate {
                work_item: item(1),
                participant: "ann".to_owned(),
            },
            vec![],
        ),
        entry(
            3,
            T + 3,
            Action::Claim {
                work_item: item(1),
                worker: "bot".to_owned(),
                lease_ms: 10,
            },
            vec![Event::WorkItemStarted { work_item: item(1) }],
        ),
        entry(
            4,
            T + 13,
            Action::ExpireLease { work_item: item(1) },
            vec![Event::WorkItemReleased { work_item: item(1) }],
        ),
        entry(
            5,
            T + 20,
            command(start(1), None),
            vec![Event::WorkItemStarted { work_item: item(1) }],
        ),
        entry(
            6,
            T + 21,
            command(Command::SuspendWorkItem { work_item: item(1) }, None),
            vec![Event::WorkItemSuspended { work_item: item(1) }],
        ),
        entry(
            7,
            T + 22,
            command(Command::ResumeWorkItem { work_item: item(1) }, None),
            vec![Event::WorkItemResumed { work_item: item(1) }],
        ),
        entry(
            8,
            T + 23,
            command(
                Command::CompleteWorkItem {
                    work_item: item(1),
                    output: json!({}),
                },
                Some("ann"),
            ),
            vec![
                Event::WorkItemCompleted { work_item: item(1) },
                enabled(2, "b"),
                enabled(3, "c"),
                enabled(4, "d"),
            ],
        ),
        entry(
            9,
            T + 30,
            command(start(3), Some("cy")),
            vec![
                Event::WorkItemStarted { work_item: item(3) },
                Event::WorkItemWithdrawn {
                    work_item: item(2),
                    status: WorkItemStatus::Withdrawn,
                },
            ],
        ),
        entry(
            10,
            T + 31,
            command(start(4), Some("dee")),
            vec![Event::WorkItemStarted { work_item: item(4) }],
        ),
        entry(
            11,
            T + 40,
            command(
                Command::FailWorkItem {
                    work_item: item(4),
                    message: "no".to_owned(),
                },
                Some("dee"),
            ),
            vec![
                Event::WorkItemFailed { work_item: item(4) },
                Event::WorkItemWithdrawn {
                    work_item: item(3),
                    status: WorkItemStatus::Cancelled,
                },
            ],
        ),
    ]
}

fn summary(events: &[XesEvent]) -> Vec<(String, &'static str, u64, Option<String>)> {
    events
        .iter()
        .map(|e| {
            (
                format!("{}#{}", e.task, e.work_item.0),
                e.transition.name(),
                e.at_ms - T,
                e.resource.clone(),
            )
        })
        .collect()
}

fn row(
    task: &str,
    transition: &'static str,
    at: u64,
    resource: Option<&str>,
) -> (String, &'static str, u64, Option<String>) {
    (task.to_owned(), transition, at, resource.map(str::to_owned))
}

#[test]
fn every_life_cycle_transition_maps_to_the_standard_model_in_log_order() {
    let events = events(&history(), Window::default());
    assert_eq!(
        summary(&events),
        [
            row("a#1", "schedule", 0, None),
            row("a#1", "assign", 2, Some("ann")),
            row("a#1", "start", 3, Some("bot")),
            row("a#1", "reassign", 13, Some("bot")),
            // Started without a named worker: the participant it is allocated to.
            row("a#1", "start", 20, Some("ann")),
            row("a#1", "suspend", 21, Some("ann")),
            row("a#1", "resume", 22, Some("ann")),
            row("a#1", "complete", 23, Some("ann")),
            row("b#2", "schedule", 23, None),
            row("c#3", "schedule", 23, None),
            row("d#4", "schedule", 23, None),
            row("c#3", "start", 30, Some("cy")),
            row("b#2", "withdraw", 30, None),
            row("d#4", "start", 31, Some("dee")),
            row("d#4", "pi_abort", 40, Some("dee")),
            // Cancelled while started, by dee's failure: cy was working on it.
            row("c#3", "ate_abort", 40, Some("cy")),
        ]
    );
}

#[test]
fn the_window_keeps_from_inclusive_to_exclusive_with_resources_from_before_it() {
    let window = Window {
        from_ms: Some(T + 20),
        to_ms: Some(T + 30),
    };
    let events = events(&history(), window);
    assert_eq!(
        summary(&events),
        [
            row("a#1", "start", 20, Some("ann")),
            row("a#1", "suspend", 21, Some("ann")),
            row("a#1", "resume", 22, Some("ann")),
            row("a#1", "complete", 23, Some("ann")),
            row("b#2", "schedule", 23, None),
            row("c#3", "schedule", 23, None),
            row("d#4", "schedule", 23, None),
        ]
    );
    let only_from = Window {
        from_ms: Some(T + 40),
        to_ms: None,
    };
    assert_eq!(events_len(only_from), 2);
    let only_to = Window {
        from_ms: None,
        to_ms: Some(T + 1),
    };
    assert_eq!(events_len(only_to), 1);
    let empty = Window {
        from_ms: Some(T + 41),
        to_ms: None,
    };
    assert_eq!(events_len(empty), 0);
}

fn events_len(window: Window) -> usize {
    events(&history(), window).len()
}

#[test]
fn dates_are_iso_8601_in_utc_with_milliseconds() {
    assert_eq!(timestamp(0), "1970-01-01T00:00:00.000+00:00");
    assert_eq!(timestamp(T), "2023-11-14T22:13:20.000+00:00");
    assert_eq!(timestamp(951_782_400_000), "2000-02-29T00:00:00.000+00:00");
    assert_eq!(timestamp(951_868_799_999), "2000-02-29T23:59:59.999+00:00");
    assert_eq!(
        timestamp(4_107_542_400_123),
        "2100-03-01T00:00:00.123+00:00"
    );
    assert_eq!(
        timestamp(253_402_300_799_999),
        "9999-12-31T23:59:59.999+00:00"
    );
    // Beyond year 9999 the year simply has more digits (xs:dateTime allows it).
    assert!(timestamp(u64::MAX).starts_with("584556019-"));
}

fn text(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    write(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_log_declares_its_extensions_globals_and_classifiers() {
    let start = text(|out| write_log_start(out, "order & pay"));
    let expected = r#"<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
  <global scope="trace">
    <string key="concept:name" value="__INVALID__"/>
  </global>
  <global scope="event">
    <string key="concept:name" value="__INVALID__"/>
    <string key="lifecycle:transition" value="complete"/>
    <date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>
  </global>
  <classifier name="Activity" keys="concept:name"/>
  <classifier name="Activity and lifecycle" keys="concept:name lifecycle:transition"/>
  <string key="concept:name" value="order &amp; pay"/>
  <string key="lifecycle:model" value="standard"/>"#;
    assert_eq!(start, expected);
    assert_eq!(text(|out| write_log_end(out)), "\n</log>\n");
}

#[test]
fn a_trace_has_its_case_and_events_with_every_attribute() {
    let events = [
        XesEvent {
            task: "a".to_owned(),
            work_item: item(1),
            transition: Transition::Schedule,
            at_ms: T,
            resource: None,
        },
        XesEvent {
            task: "a".to_owned(),
            work_item: item(1),
            transition: Transition::Complete,
            at_ms: T + 1,
            resource: Some("ann".to_owned()),
        },
    ];
    let trace = text(|out| write_trace(out, CaseId(17), &events));
    let expected = r#"
  <trace>
    <string key="concept:name" value="17"/>
    <event>
      <string key="concept:name" value="a"/>
      <string key="lifecycle:transition" value="schedule"/>
      <date key="time:timestamp" value="2023-11-14T22:13:20.000+00:00"/>
      <string key="work_item" value="17-1"/>
    </event>
    <event>
      <string key="concept:name" value="a"/>
      <string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="2023-11-14T22:13:20.001+00:00"/>
      <string key="org:resource" value="ann"/>
      <string key="work_item" value="17-1"/>
    </event>
  </trace>"#;
    assert_eq!(trace, expected);
}

#[test]
fn text_is_escaped_and_characters_xml_forbids_are_replaced() {
    let events = [XesEvent {
        task: "<a & \"b\">'".to_owned(),
        work_item: item(1),
        transition: Transition::Start,
        at_ms: 0,
        resource: Some("tab\there\nnul\u{0}\u{FFFF}é".to_owned()),
    }];
    let trace = text(|out| write_trace(out, CaseId(1), &events));
    assert!(
        trace.contains(r#"value="&lt;a &amp; &quot;b&quot;&gt;&apos;""#),
        "{trace}"
    );
    assert!(
        trace.contains("value=\"tab&#9;here&#10;nul\u{FFFD}\u{FFFD}é\""),
        "{trace}"
    );
}
