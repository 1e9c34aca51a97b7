//! The XES export through the engine: only the cases of the specification asked for, of
//! every version, in case order, paged; the window; an unknown specification.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{T0, live_item, memory_engine, sequence};
use knhk_kernel::Command;
use knhk_runtime::xes::{Window, XesError};
use knhk_runtime::{CaseId, Engine, EngineError};
use serde_json::json;

/// Runs every work item of `case` to completion, `worker` acting, 10 ms a step.
async fn run(engine: &Engine, clock: &knhk_runtime::ManualClock, case: CaseId, tasks: usize) {
    for k in 0..tasks {
        let item = live_item(engine, case, &format!("t{k}")).await;
        clock.advance(10);
        let start = Command::StartWorkItem { work_item: item };
        engine.command(case, start, Some("w")).await.unwrap();
        clock.advance(10);
        let complete = Command::CompleteWorkItem {
            work_item: item,
            output: json!({}),
        };
        engine.command(case, complete, Some("w")).await.unwrap();
    }
}

async fn export(engine: &Engine, spec_id: &str, window: Window) -> String {
    let mut export = engine.xes_export(spec_id, window).await.unwrap();
    let mut text = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = export.next_chunk().await.unwrap() {
        assert!(!chunk.is_empty());
        text.extend(chunk);
        chunks += 1;
    }
    // Once done, it stays done.
    assert!(export.next_chunk().await.unwrap().is_none());
    let text = String::from_utf8(text).unwrap();
    // The opening, one chunk per trace, the closing.
    assert_eq!(chunks, text.matches("<trace>").count() + 2, "{text}");
    text
}

/// The `concept:name` of each trace, in order.
fn traces(text: &str) -> Vec<String> {
    text.split("<trace>")
        .skip(1)
        .map(|trace| {
            let name = trace.split("value=\"").nth(1).unwrap();
            name[..name.find('"').unwrap()].to_owned()
        })
        .collect()
}

#[tokio::test]
async fn an_export_has_the_cases_of_every_version_of_its_specification_in_order() {
    let (engine, clock) = memory_engine();
    engine.register(sequence("seq", 2)).await.unwrap();
    engine.register(sequence("other", 1)).await.unwrap();
    let a = engine.launch("seq", None, json!({})).await.unwrap().id;
    let b = engine.launch("other", None, json!({})).await.unwrap().id;
    run(&engine, &clock, a, 2).await;
    // Version 2 of `seq`; a running case of it, and one of `other`, live.
    engine.register(sequence("seq", 3)).await.unwrap();
    let c = engine.launch("seq", None, json!({})).await.unwrap().id;
    let d = engine.launch("other", None, json!({})).await.unwrap().id;
    run(&engine, &clock, b, 1).await;
    run(&engine, &clock, c, 1).await;

    let text = export(&engine, "seq", Window::default()).await;
    assert_eq!(traces(&text), [a.0.to_string(), c.0.to_string()]);
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<log "));
    assert!(text.ends_with("</trace>\n</log>\n"), "{text}");
    // Case a: t0 and t1 scheduled, started, completed; case c: t0 done, t1 scheduled.
    // (One more `complete`: the event global's default.)
    assert_eq!(
        text.matches("value=\"complete\"").count(),
        2 + 1 + 1,
        "{text}"
    );
    assert_eq!(text.matches("value=\"schedule\"").count(), 2 + 2);
    assert_eq!(
        text.matches("<string key=\"org:resource\" value=\"w\"/>")
            .count(),
        6
    );
    let other = export(&engine, "other", Window::default()).await;
    assert_eq!(traces(&other), [b.0.to_string(), d.0.to_string()]);

    // Case a ran from T0 to T0 + 40; c started at T0 + 60 (after b's 20 ms).
    let window = Window {
        from_ms: Some(T0 + 40),
        to_ms: None,
    };
    let late = export(&engine, "seq", window).await;
    assert_eq!(traces(&late), [a.0.to_string(), c.0.to_string()]);
    let window = Window {
        from_ms: Some(T0 + 41),
        to_ms: None,
    };
    let later = export(&engine, "seq", window).await;
    assert_eq!(traces(&later), [c.0.to_string()]);
    let window = Window {
        from_ms: Some(T0 + 1_000),
        to_ms: None,
    };
    let empty = export(&engine, "seq", window).await;
    assert!(traces(&empty).is_empty());
    assert!(empty.ends_with("<string key=\"lifecycle:model\" value=\"standard\"/>\n</log>\n"));
}

#[tokio::test]
async fn case_ids_come_in_pages_that_skip_other_specifications() {
    let (engine, _clock) = memory_engine();
    engine.register(sequence("seq", 1)).await.unwrap();
    engine.register(sequence("other", 1)).await.unwrap();
    let mut ours = Vec::new();
    for k in 0..7 {
        let spec = if k % 3 == 1 { "other" } else { "seq" };
        let id = engine.launch(spec, None, json!({})).await.unwrap().id;
        if spec == "seq" {
            ours.push(id);
        }
    }
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = engine.spec_case_ids("seq", after, 2).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items);
        pages += 1;
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ours);
    assert_eq!(pages, 4, "7 cases examined two at a time");
}

#[tokio::test]
async fn an_unknown_specification_is_refused_before_anything_is_written() {
    let (engine, _clock) = memory_engine();
    let refused = engine.xes_export("nope", Window::default()).await;
    assert!(matches!(
        refused,
        Err(XesError::Engine(EngineError::UnknownSpec { ref id, version: None })) if id == "nope"
    ));
}
