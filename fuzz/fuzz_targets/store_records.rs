//! Stored records and snapshots, damaged: a `MemoryStore` holding the example
//! specifications and one to three cases whose logs start from real ones (recorded once,
//! at start-up, by an engine driving cases of `order-fulfilment`, WCP 15 and WCP 20
//! through claims, offers, allocations, commands and timers, with a snapshot every third
//! record), then cut short and damaged by the input: a record's payload or the snapshot
//! replaced by raw bytes, or decoded and changed at one JSON node (any value, an edge
//! number, a removed field, a different tag), or a snapshot moved to another record, or
//! a stored specification's text damaged (in place, or as a new version).
//!
//! Asserts: `Entry::from_record` of every record, `knhk_runtime::check_store` and
//! `Engine::open` return, and neither fails as a whole (a store that can be read opens);
//! a case that does not load is quarantined, with the same cases quarantined by both; a
//! case whose log and specification are undamaged (a prefix of a real log, with a real
//! snapshot) recovers; and every recovered case answers queries (case, history, work
//! items) and takes commands (start, complete, claim, timers) without a panic. Nothing
//! may panic outside cel or overflow a 2 MiB stack: the engine's own catching of panics
//! during replay and commands is no excuse here.

#![no_main]

use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use knhk_fuzz::json::{Json, node_mut};
use knhk_kernel::{Command, WorkItemId};
use knhk_runtime::{
    CaseId, CaseQuery, ClaimTarget, Engine, EngineConfig, Entry, ManualClock, MemoryStore, Record,
    Store, WorkItemQuery,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

/// The clock of every engine here, in ms since the epoch.
const NOW_MS: u64 = 1_700_000_000_000;

#[derive(Debug, Arbitrary)]
struct Input {
    cases: Vec<CaseInput>,
    spec_damage: Option<SpecDamage>,
    acts: Vec<Act>,
}

#[derive(Debug, Arbitrary)]
struct CaseInput {
    template: u8,
    /// How many of the template's records to keep (at least one).
    keep: u8,
    snapshot: SnapshotChoice,
    damage: Vec<(u8, Damage)>,
}

#[derive(Debug, Arbitrary)]
enum SnapshotChoice {
    None,
    /// One of the template's snapshots, at the record it was taken after (or the last
    /// record kept, if that one was cut).
    Real(u8),
    /// One of the template's snapshots, damaged.
    Damaged(u8, Damage),
    /// A real snapshot at another record.
    Moved(u8, u8),
}

#[derive(Debug, Arbitrary)]
enum Damage {
    Raw(Vec<u8>),
    Replace(u16, Json),
    Number(u16, u8),
    Remove(u16),
    Retag(u16, u8),
    Cut(u16),
    Flip(u16, u8),
}

#[derive(Debug, Arbitrary)]
struct SpecDamage {
    which: u8,
    damage: Damage,
    as_new_version: bool,
}

#[derive(Debug, Arbitrary)]
enum Act {
    Start(u8),
    Complete(u8, Json),
    Claim(u8),
    Cancel(u8),
    Advance(u32),
}

/// Numbers that break indices and counters.
const NUMBERS: &[i128] = &[
    0,
    1,
    2,
    3,
    -1,
    7,
    64,
    255,
    65_536,
    u32::MAX as i128,
    u32::MAX as i128 + 1,
    i64::MAX as i128,
    u64::MAX as i128,
];

/// Tags and names of the stored formats: actions, commands, events, states, statuses.
const TAGS: &[&str] = &[
    "launch",
    "command",
    "claim",
    "offer",
    "allocate",
    "expire_lease",
    "start_work_item",
    "complete_work_item",
    "release_work_item",
    "cancel_case",
    "fail_case",
    "timer_expired",
    "add_instance",
    "running",
    "completed",
    "cancelled",
    "deadlocked",
    "failed",
    "suspended",
    "enabled",
    "started",
    "Item",
    "Subnet",
    "Completed",
    "work_item_enabled",
    "net_started",
    "fulfilment",
    "receive_order",
    "pick_items",
    "",
];

/// A real case's log, as the store held it.
#[derive(Debug)]
struct Template {
    /// The id of the specification the case runs.
    spec_id: String,
    records: Vec<Vec<u8>>,
    /// Every snapshot the case had: the sequence number it was taken after, and its bytes.
    snapshots: Vec<(u64, Vec<u8>)>,
}

struct Templates {
    specs: Vec<(String, u64, String)>,
    cases: Vec<Template>,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => panic!("no tokio runtime: {e}"),
        }
    })
}

fn config() -> EngineConfig {
    EngineConfig {
        snapshot_every: 3,
        ..EngineConfig::default()
    }
}

/// Outputs that complete the templates' work items.
fn outputs() -> Vec<Value> {
    vec![
        json!({}),
        json!({"order": {"customer": "ACME"}, "items": [{"sku": "a", "quantity": 2}, {"sku": "b", "quantity": 1}], "total": 1500.0}),
        json!({"approved": true}),
        json!({"sku": "a", "picked": 2}),
        json!({"paid": true}),
    ]
}

fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| knhk_fuzz::on_worker_stack(|| runtime().block_on(record_templates())))
}

/// Runs real cases on an engine and keeps what the store held.
async fn record_templates() -> Templates {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let engine = match Engine::open(store.clone(), clock.clone(), config()) {
        Ok(engine) => engine,
        Err(e) => panic!("the template engine does not open: {e}"),
    };
    let mut ids = Vec::new();
    for (file, data) in [
        ("order-fulfilment.json", json!({})),
        (
            "patterns/wcp_15_mi_without_a_priori_run_time_knowledge.json",
            json!({}),
        ),
        ("patterns/wcp_20_cancel_case.json", json!({})),
    ] {
        let Some((_, text)) = knhk_fuzz::specs::EXAMPLES.iter().find(|(f, _)| *f == file) else {
            panic!("no example {file}");
        };
        let valid = knhk_json::parse(text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let version = engine
            .register(valid)
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let case = engine
            .launch(&version.spec_ref.id, None, data)
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        ids.push((case.id, version.spec_ref.id.clone()));
    }
    let mut snapshots: Vec<Vec<(u64, Vec<u8>)>> = vec![Vec::new(); ids.len()];
    for round in 0..12u64 {
        for (n, (case, _)) in ids.iter().enumerate() {
            let case = *case;
            drive(&engine, case, round).await;
            if round % 5 == 4 {
                clock.advance(2 * 60 * 60 * 1000);
                let _fired = engine.fire_due().await;
            }
            if let Ok(log) = store.read_latest(case)
                && let Some(snapshot) = log.snapshot
                && snapshots[n].last() != Some(&snapshot)
            {
                snapshots[n].push(snapshot);
            }
        }
    }
    let cases = ids
        .iter()
        .zip(snapshots)
        .map(|((case, spec_id), snapshots)| Template {
            spec_id: spec_id.clone(),
            records: store
                .read_case(*case)
                .unwrap_or_default()
                .into_iter()
                .map(|r| r.payload)
                .collect(),
            snapshots,
        })
        .collect();
    let specs = store
        .specs()
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.id, s.version, s.json))
        .collect();
    Templates { specs, cases }
}

/// One round of work on a template case: its first live item is claimed, offered and
/// allocated, or started, then completed with the first output it takes.
async fn drive(engine: &Engine, case: CaseId, round: u64) {
    let query = WorkItemQuery {
        case: Some(case),
        ..WorkItemQuery::default()
    };
    let Ok(page) = engine.work_items(&query).await else {
        return;
    };
    let Some(item) = page.items.iter().find(|i| i.data.is_some()) else {
        return;
    };
    let worker = match round % 3 {
        0 => {
            let target = ClaimTarget::Task(item.task.to_string());
            let _claimed = engine.claim("w1", &target, 1, 60 * 60 * 1000).await;
            Some("w1")
        }
        1 => {
            let people = vec!["ann".to_owned(), "bob".to_owned()];
            let _offered = engine.offer(case, item.id, people).await;
            let _allocated = engine.allocate(case, item.id, "ann").await;
            let start = Command::StartWorkItem { work_item: item.id };
            let _started = engine.command(case, start, Some("ann")).await;
            Some("ann")
        }
        _ => {
            let start = Command::StartWorkItem { work_item: item.id };
            let _started = engine.command(case, start, None).await;
            None
        }
    };
    if round % 4 == 3 {
        // Leave it running: a lease or a timer may end it.
        return;
    }
    for output in outputs() {
        let complete = Command::CompleteWorkItem {
            work_item: item.id,
            output,
        };
        if engine.command(case, complete, worker).await.is_ok() {
            break;
        }
    }
}

impl Damage {
    /// `bytes` damaged (JSON damage applies to the decoded value; bytes that do not
    /// decode are left as they are).
    fn apply(&self, bytes: &[u8]) -> Vec<u8> {
        match self {
            Damage::Raw(raw) => return raw.clone(),
            Damage::Cut(at) => return bytes[..usize::from(*at).min(bytes.len())].to_vec(),
            Damage::Flip(at, bits) => {
                let mut bytes = bytes.to_vec();
                if !bytes.is_empty() {
                    let at = usize::from(*at) % bytes.len();
                    bytes[at] ^= bits.max(&1);
                }
                return bytes;
            }
            _ => {}
        }
        let Ok(mut value) = serde_json::from_slice::<Value>(bytes) else {
            return bytes.to_vec();
        };
        match self {
            Damage::Replace(at, json) => *node_mut(&mut value, usize::from(*at)) = json.0.clone(),
            Damage::Number(at, n) => {
                let number = NUMBERS[usize::from(*n) % NUMBERS.len()];
                let number = i64::try_from(number)
                    .map(Value::from)
                    .or_else(|_| u64::try_from(number).map(Value::from))
                    .unwrap_or(Value::Null);
                *node_mut(&mut value, usize::from(*at)) = number;
            }
            Damage::Remove(at) => {
                // Removes one field of the object holding the node, if any.
                let node = node_mut(&mut value, usize::from(*at));
                if let Value::Object(fields) = node
                    && let Some(key) = fields.keys().nth(usize::from(*at) % fields.len().max(1))
                {
                    let key = key.clone();
                    fields.remove(&key);
                }
            }
            Damage::Retag(at, tag) => {
                let node = node_mut(&mut value, usize::from(*at));
                let tag = TAGS[usize::from(*tag) % TAGS.len()].to_owned();
                match node {
                    Value::Object(fields) => {
                        for name in ["action", "command", "event", "state", "status"] {
                            if let Some(field) = fields.get_mut(name) {
                                *field = Value::String(tag);
                                break;
                            }
                        }
                    }
                    other => *other = Value::String(tag),
                }
            }
            Damage::Raw(_) | Damage::Cut(_) | Damage::Flip(..) => {}
        }
        serde_json::to_vec(&value).unwrap_or_else(|_| bytes.to_vec())
    }
}

/// A case put into the store, and whether it is undamaged.
struct Placed<'a> {
    id: CaseId,
    pristine: bool,
    spec_id: &'a str,
}

fuzz_target!(init: { knhk_fuzz::init(); templates(); }, |input: Input| {
    knhk_fuzz::on_worker_stack(|| run(&input));
});

fn run(input: &Input) {
    let templates = templates();
    let store = Arc::new(MemoryStore::new());

    // The specifications, one maybe damaged.
    let mut damaged_spec: Option<&str> = None;
    for (n, (id, version, text)) in templates.specs.iter().enumerate() {
        let damage = input
            .spec_damage
            .as_ref()
            .filter(|d| usize::from(d.which) % templates.specs.len() == n);
        match damage {
            Some(damage) if damage.as_new_version => {
                let _stored = store.put_spec(id, *version, text);
                let damaged =
                    String::from_utf8_lossy(&damage.damage.apply(text.as_bytes())).into_owned();
                let _stored = store.put_spec(id, version + 1, &damaged);
            }
            Some(damage) => {
                let damaged =
                    String::from_utf8_lossy(&damage.damage.apply(text.as_bytes())).into_owned();
                if damaged != *text {
                    damaged_spec = Some(id);
                }
                let _stored = store.put_spec(id, *version, &damaged);
            }
            None => {
                let _stored = store.put_spec(id, *version, text);
            }
        }
    }

    // The cases.
    let mut placed = Vec::new();
    for (n, case) in input.cases.iter().take(3).enumerate() {
        let which = usize::from(case.template) % templates.cases.len();
        let template = &templates.cases[which];
        if template.records.is_empty() {
            continue;
        }
        let id = CaseId(n as u64 + 1);
        let keep = 1 + usize::from(case.keep) % template.records.len();
        let mut payloads: Vec<Vec<u8>> = template.records[..keep].to_vec();
        for (at, damage) in case.damage.iter().take(4) {
            let at = usize::from(*at) % payloads.len();
            payloads[at] = damage.apply(&payloads[at]);
        }
        let mut pristine = payloads[..] == template.records[..keep];
        let snapshot_of = |i: &u8| {
            let snapshots = &template.snapshots;
            (!snapshots.is_empty()).then(|| &snapshots[usize::from(*i) % snapshots.len()])
        };
        let snapshot: Option<(usize, Vec<u8>)> = match &case.snapshot {
            SnapshotChoice::None => None,
            SnapshotChoice::Real(i) => snapshot_of(i).map(|(seq, bytes)| {
                let seq = usize::try_from(*seq).unwrap_or(usize::MAX);
                if seq >= keep {
                    pristine = false;
                }
                (seq.min(keep - 1), bytes.clone())
            }),
            SnapshotChoice::Damaged(i, damage) => snapshot_of(i).map(|(seq, bytes)| {
                let seq = usize::try_from(*seq).unwrap_or(usize::MAX);
                let damaged = damage.apply(bytes);
                if seq >= keep || damaged != *bytes {
                    pristine = false;
                }
                (seq.min(keep - 1), damaged)
            }),
            SnapshotChoice::Moved(i, to) => snapshot_of(i).map(|(seq, bytes)| {
                let to = usize::from(*to) % keep;
                if u64::try_from(to).ok() != Some(*seq) {
                    pristine = false;
                }
                (to, bytes.clone())
            }),
        };
        let records: Vec<Record> = payloads
            .into_iter()
            .enumerate()
            .map(|(seq, payload)| Record {
                case: id,
                seq: seq as u64,
                payload,
                snapshot: snapshot
                    .as_ref()
                    .filter(|(at, _)| *at == seq)
                    .map(|(_, bytes)| bytes.clone()),
            })
            .collect();
        if let Err(e) = store.append(&records) {
            panic!("the memory store refuses a gap-free log: {e}");
        }
        placed.push(Placed {
            id,
            pristine,
            spec_id: &template.spec_id,
        });
    }

    // Every record decodes or is refused.
    for case in store.cases().unwrap_or_default() {
        for record in store.read_case(case).unwrap_or_default() {
            let _entry = Entry::from_record(&record);
        }
    }

    // Replaying a damaged log may panic in the kernel (an image whose indices or counts
    // do not fit the specification): the runtime catches that and quarantines the case,
    // by design, and fails a recovered case whose command panics. Those panics are
    // allowed where something was damaged; an undamaged store must not panic at all.
    let damaged = placed.iter().any(|case| !case.pristine);
    let tolerant = |work: &mut dyn FnMut()| {
        if damaged {
            knhk_fuzz::allowing_caught_panics(work);
        } else {
            work();
        }
    };
    let mut opened = None;
    tolerant(&mut || opened = Some(open(&store)));
    let Some((report, engine, clock)) = opened else {
        return;
    };
    let quarantined: Vec<CaseId> = engine.quarantined().iter().map(|q| q.id).collect();
    let reported: Vec<CaseId> = report.quarantined.iter().map(|q| q.id).collect();
    assert_eq!(
        quarantined, reported,
        "check_store and Engine::open disagree"
    );
    for case in &placed {
        if case.pristine && damaged_spec != Some(case.spec_id) {
            assert!(
                !quarantined.contains(&case.id),
                "an undamaged log is quarantined: {:?}",
                engine.quarantined()
            );
        }
    }

    tolerant(&mut || {
        runtime().block_on(async {
            let _all = engine.cases(&CaseQuery::default()).await;
            let _items = engine.work_items(&WorkItemQuery::default()).await;
            for case in &placed {
                let _view = engine.case(case.id).await;
                let _history = engine.history(case.id).await;
            }
            for act in input.acts.iter().take(8) {
                act_on(&engine, &clock, &placed, act).await;
            }
            let _ready = engine.store_failure();
        });
    });
}

/// `check_store`'s report on `store`, and the engine opened on it with its clock.
fn open(store: &Arc<MemoryStore>) -> (knhk_runtime::StoreReport, Engine, Arc<ManualClock>) {
    let report = match knhk_runtime::check_store(store.as_ref()) {
        Ok(report) => report,
        Err(e) => panic!("check_store fails on a readable store: {e}"),
    };
    let clock = Arc::new(ManualClock::new(NOW_MS + 24 * 60 * 60 * 1000));
    let engine = match Engine::open(store.clone(), clock.clone(), config()) {
        Ok(engine) => engine,
        Err(e) => panic!("Engine::open fails on a readable store: {e}"),
    };
    (report, engine, clock)
}

/// One action on the recovered engine.
async fn act_on(engine: &Engine, clock: &ManualClock, placed: &[Placed<'_>], act: &Act) {
    let case_of = |i: &u8| {
        placed
            .get(usize::from(*i) % placed.len().max(1))
            .map(|c| c.id)
    };
    let item_of = |case: CaseId| async move {
        let query = WorkItemQuery {
            case: Some(case),
            ..WorkItemQuery::default()
        };
        let page = engine.work_items(&query).await.ok()?;
        page.items.first().map(|item| item.id)
    };
    match act {
        Act::Start(i) => {
            if let Some(case) = case_of(i)
                && let Some(item) = item_of(case).await
            {
                let start = Command::StartWorkItem { work_item: item };
                let _done = engine.command(case, start, None).await;
            }
        }
        Act::Complete(i, output) => {
            if let Some(case) = case_of(i) {
                let item = item_of(case).await.unwrap_or(WorkItemId(1));
                let complete = Command::CompleteWorkItem {
                    work_item: item,
                    output: output.0.clone(),
                };
                let _done = engine.command(case, complete, None).await;
            }
        }
        Act::Claim(i) => {
            let task = TAGS[usize::from(*i) % TAGS.len()];
            let target = ClaimTarget::Task(task.to_owned());
            let _claimed = engine.claim("w2", &target, 2, 1000).await;
        }
        Act::Cancel(i) => {
            if let Some(case) = case_of(i) {
                let _done = engine.command(case, Command::CancelCase, None).await;
            }
        }
        Act::Advance(ms) => {
            clock.advance(u64::from(*ms) * 1000);
            let _fired = engine.fire_due().await;
        }
    }
}
