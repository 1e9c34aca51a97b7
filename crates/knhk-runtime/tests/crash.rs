//! Crash tests: the engine runs in a child process under concurrent load and is killed
//! with SIGKILL at random moments, round after round, on the same data directory. After
//! every kill the test recovers the engine itself and checks that every acknowledged
//! command's effect is there, that no command is half-applied, and that the token
//! invariants of the workflow hold.
//!
//! The child is this test binary run again: `crash_rounds_lose_nothing_acknowledged`
//! re-executes it with `--exact child_process_entry` and `KNHK_CRASH_CHILD_DIR` set, which
//! turns `child_process_entry` (a no-op in a normal run) into the child. A real process is
//! needed because only a process kill stops the engine between any two instructions, with
//! whatever the store had written so far and nothing more.
//!
//! The child prints one `ACK ...` line after each call that returned `Ok`, so a line the
//! parent reads is a command the engine acknowledged. Each case is driven by a single
//! task, one command at a time, so per case and per round the log holds exactly the
//! acknowledged commands, in order, plus at most one command committed whose
//! acknowledgement the kill cut off. The parent checks that, and replays every case's
//! whole log through the kernel, from the launch, independently of the engine's
//! snapshots: the stored events must come back, and the replayed case must equal the
//! recovered one (state, data, live work items).
//!
//! Rounds 0, 5, 10, ... kill the child at a random moment after it is spawned, which
//! may be during process start, the store's open (and repair) or recovery; the others
//! wait for its first acknowledgement and kill it under load.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use knhk_kernel::{Case, CaseState, Command, Event, ROOT_INSTANCE, WorkItemId, WorkItemStatus};
use knhk_runtime::{
    Action, CaseId, CaseQuery, CaseView, Engine, EngineConfig, HistoryEntry, Listed, StoragePaths,
    SystemClock, WorkItemQuery, WorkItemView,
};
use serde_json::{Value, json};

const CHILD_DIR_VAR: &str = "KNHK_CRASH_CHILD_DIR";
/// Every `EARLY_EVERY`th round kills early, the other 20 kill under load.
const ROUNDS: u64 = 25;
const EARLY_EVERY: u64 = 5;
const WORKERS: u64 = 16;
const TASKS: usize = 10;
const SPEC_ID: &str = "crash-sequence";

fn config() -> EngineConfig {
    // Small, so that most cases cross a snapshot and recovery replays from one.
    EngineConfig {
        snapshot_every: 8,
        ..Default::default()
    }
}

fn open_engine(dir: &Path) -> Engine {
    let store = StoragePaths::new(dir, None)
        .open_store()
        .unwrap_or_else(|e| panic!("cannot open the store in {}: {e}", dir.display()));
    Engine::open(Arc::new(store), Arc::new(SystemClock), config())
        .unwrap_or_else(|e| panic!("recovery failed: {e}"))
}

/// `i -> t0 -> ... -> t9 -> o`, all atomic: one token of control flow, always.
fn sequence_spec() -> String {
    let task = |k: usize| format!("t{k}");
    let tasks: Vec<Value> = (0..TASKS)
        .map(|k| json!({"id": task(k), "kind": "atomic"}))
        .collect();
    let mut flows = vec![json!({"from": "i", "to": task(0)})];
    flows.extend((1..TASKS).map(|k| json!({"from": task(k - 1), "to": task(k)})));
    flows.push(json!({"from": task(TASKS - 1), "to": "o"}));
    json!({
        "id": SPEC_ID,
        "root_net": "main",
        "nets": [{
            "id": "main",
            "input_condition": {"id": "i"},
            "output_condition": {"id": "o"},
            "tasks": tasks,
            "flows": flows,
        }],
    })
    .to_string()
}

/// The output of task `t<k>`: what the case data must hold once it completed.
fn output_of(task: &str) -> Value {
    let k: u64 = task
        .strip_prefix('t')
        .and_then(|k| k.parse().ok())
        .unwrap_or_else(|| panic!("unexpected task `{task}`"));
    json!({ task: k })
}

// ---- the child ---------------------------------------------------------------------

/// The child process; does nothing unless the parent test started it.
#[test]
fn child_process_entry() {
    let Some(dir) = std::env::var_os(CHILD_DIR_VAR) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(child(PathBuf::from(dir)));
}

/// Writes one line and flushes it: once the parent can read it, it is acknowledged.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

async fn child(dir: PathBuf) -> ! {
    // libtest has printed "test child_process_entry ... " without a newline.
    say("");
    let engine = open_engine(&dir);
    engine
        .register(knhk_json::parse(&sequence_spec()).unwrap())
        .await
        .unwrap();
    // Cases an earlier child left running are shared out, so each still has one driver.
    let mut running = Vec::new();
    let mut after = None;
    loop {
        let query = CaseQuery {
            state: Some("running".to_owned()),
            after,
            ..Default::default()
        };
        let page = engine.cases(&query).await.unwrap();
        running.extend(page.items.iter().map(|c| c.id()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..WORKERS {
        let inherited: Vec<CaseId> = running
            .iter()
            .copied()
            .filter(|c| c.0 % WORKERS == w)
            .collect();
        workers.spawn(worker(engine.clone(), inherited));
    }
    while workers.join_next().await.is_some() {}
    unreachable!("workers run until the process is killed")
}

async fn worker(engine: Engine, inherited: Vec<CaseId>) {
    for case in inherited {
        drive(&engine, case).await;
    }
    loop {
        match engine.launch(SPEC_ID, None, json!({})).await {
            Ok(view) => {
                say(&format!("ACK launch {}", view.id.0));
                drive(&engine, view.id).await;
            }
            Err(e) => {
                say(&format!("ERR launch: {e}"));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Runs `case` to its end, one work item after the other.
async fn drive(engine: &Engine, case: CaseId) {
    loop {
        let query = WorkItemQuery {
            case: Some(case),
            ..Default::default()
        };
        let items = match engine.work_items(&query).await {
            Ok(page) => page.items,
            Err(e) => return say(&format!("ERR work_items {case}: {e}")),
        };
        let live = items
            .into_iter()
            .find(|i| matches!(i.status, WorkItemStatus::Enabled | WorkItemStatus::Started));
        let Some(item) = live else {
            return;
        };
        let (id, task) = (item.id, item.task.to_string());
        if item.status == WorkItemStatus::Enabled {
            let start = Command::StartWorkItem { work_item: id };
            if let Err(e) = engine.command(case, start, None).await {
                return say(&format!("ERR start {case} {} {task}: {e}", id.0));
            }
            say(&format!("ACK start {} {} {task}", case.0, id.0));
        }
        let complete = Command::CompleteWorkItem {
            work_item: id,
            output: output_of(&task),
        };
        if let Err(e) = engine.command(case, complete, None).await {
            return say(&format!("ERR complete {case} {} {task}: {e}", id.0));
        }
        say(&format!("ACK complete {} {} {task}", case.0, id.0));
    }
}

// ---- the parent --------------------------------------------------------------------

/// One acknowledged command, as the child reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ack {
    Launch(CaseId),
    Start(CaseId, WorkItemId, String),
    Complete(CaseId, WorkItemId, String),
}

impl Ack {
    fn parse(line: &str) -> Option<Ack> {
        let words: Vec<&str> = line.strip_prefix("ACK ")?.split(' ').collect();
        let number = |w: &str| -> u64 {
            w.parse()
                .unwrap_or_else(|_| panic!("bad acknowledgement `{line}`"))
        };
        let ack = match words.as_slice() {
            ["launch", case] => Ack::Launch(CaseId(number(case))),
            ["start", case, item, task] => Ack::Start(
                CaseId(number(case)),
                WorkItemId(number(item)),
                (*task).to_owned(),
            ),
            ["complete", case, item, task] => Ack::Complete(
                CaseId(number(case)),
                WorkItemId(number(item)),
                (*task).to_owned(),
            ),
            _ => panic!("bad acknowledgement `{line}`"),
        };
        Some(ack)
    }

    fn case(&self) -> CaseId {
        match self {
            Ack::Launch(case) | Ack::Start(case, ..) | Ack::Complete(case, ..) => *case,
        }
    }

    /// Whether `entry` is the log entry of this acknowledged command.
    fn is_logged_as(&self, entry: &HistoryEntry) -> bool {
        match (self, &entry.action) {
            (Ack::Launch(_), Action::Launch { .. }) => true,
            (
                Ack::Start(_, item, _),
                Action::Command {
                    command: Command::StartWorkItem { work_item },
                    worker: None,
                },
            ) => work_item == item,
            (
                Ack::Complete(_, item, task),
                Action::Command {
                    command: Command::CompleteWorkItem { work_item, output },
                    worker: None,
                },
            ) => work_item == item && *output == output_of(task),
            _ => false,
        }
    }
}

/// splitmix64: enough randomness for kill times, and reproducible from the round.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}

/// What a round's child said before it was killed.
struct Output {
    /// Complete lines only: a line cut by the kill was never acknowledged.
    lines: Vec<String>,
    stderr: String,
    /// Whether the kill came after the child's first acknowledgement.
    under_load: bool,
}

fn collect_lines(stdout: impl Read, lines: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line.ends_with('\n') => lines.lock().unwrap().push(line.trim_end().to_owned()),
            Ok(_) => return,
        }
    }
}

/// Kills the child however the round ends, so that a failing test leaves no process behind.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_child(exe: &Path, dir: &Path, round: u64) -> Output {
    let child = std::process::Command::new(exe)
        .args([
            "--exact",
            "child_process_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR_VAR, dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Killed(child);
    let lines = Arc::new(Mutex::new(Vec::new()));
    let stdout = child.0.stdout.take().unwrap();
    let reader = {
        let lines = Arc::clone(&lines);
        std::thread::spawn(move || collect_lines(stdout, &lines))
    };
    let mut stderr = child.0.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let exited = |child: &mut Child, stderr: std::thread::JoinHandle<String>| -> ! {
        let status = child.wait().unwrap();
        panic!(
            "round {round}: the child exited by itself ({status}):\n{}",
            stderr.join().unwrap()
        )
    };

    let spawned = Instant::now();
    let mut rng = SplitMix64(0x5EED ^ round);
    let early = round.is_multiple_of(EARLY_EVERY);
    let delay = if early {
        rng.between(0, 250)
    } else {
        // Start-up takes longer as the store grows (recovery reads all of it): the kill is
        // timed from the first acknowledgement, so that it lands under load.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !lines.lock().unwrap().iter().any(|l| l.starts_with("ACK ")) {
            if child.0.try_wait().unwrap().is_some() {
                exited(&mut child.0, stderr);
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: no acknowledgement within 60 s"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        rng.between(150, 600)
    };
    std::thread::sleep(Duration::from_millis(delay));
    if child.0.try_wait().unwrap().is_some() {
        exited(&mut child.0, stderr);
    }
    // SIGKILL on Unix: no destructor, no flush, no orderly shutdown of the committer.
    child.0.kill().unwrap();
    let status = child.0.wait().unwrap();
    assert!(!status.success());
    reader.join().unwrap();
    let lines = std::mem::take(&mut *lines.lock().unwrap());
    eprintln!(
        "round {round}: killed {:.0?} after spawn ({}), {} lines",
        spawned.elapsed(),
        if early { "early" } else { "under load" },
        lines.len()
    );
    Output {
        under_load: lines.iter().any(|l| l.starts_with("ACK ")),
        lines,
        stderr: stderr.join().unwrap(),
    }
}

#[derive(Debug, Default)]
struct Stats {
    rounds: u64,
    /// Kills that came after the child's first acknowledgement.
    kills_under_load: u64,
    acks: usize,
    /// Running cases with work done, summed over recoveries: killed mid-flight.
    mid_flight: usize,
    /// Commands found committed whose acknowledgement the kill cut off.
    committed_unacked: usize,
    /// Cases the log holds at the end, and how many of them completed.
    cases: usize,
    completed: usize,
}

/// What the parent knows from earlier rounds.
#[derive(Default)]
struct Checker {
    /// Every acknowledged command, by case, in order.
    acked: BTreeMap<CaseId, Vec<Ack>>,
    /// Each case's history at its last check.
    histories: BTreeMap<CaseId, Vec<HistoryEntry>>,
    /// Cases that have ended, as they were when first seen ended: they never change again.
    ended: BTreeMap<CaseId, CaseView>,
    stats: Stats,
}

impl Checker {
    /// Recovers the engine after round `round` and checks it against the acknowledgements.
    /// `full` re-checks every case and acknowledgement, not just this round's.
    fn check_round(&mut self, dir: &Path, round: u64, output: &Output, full: bool) {
        let errors: Vec<&String> = output
            .lines
            .iter()
            .filter(|l| l.starts_with("ERR"))
            .collect();
        assert!(
            errors.is_empty(),
            "round {round}: the child saw errors: {errors:#?}\nstderr:\n{}",
            output.stderr
        );
        let acks: Vec<Ack> = output.lines.iter().filter_map(|l| Ack::parse(l)).collect();
        self.stats.rounds += 1;
        self.stats.kills_under_load += u64::from(output.under_load);
        self.stats.acks += acks.len();
        let mut this_round: BTreeMap<CaseId, Vec<Ack>> = BTreeMap::new();
        for ack in acks {
            this_round.entry(ack.case()).or_default().push(ack.clone());
            self.acked.entry(ack.case()).or_default().push(ack);
        }

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let engine = open_engine(dir);
            let cases = all_cases(&engine).await;
            for case in this_round.keys().chain(self.histories.keys()) {
                assert!(
                    cases.contains_key(case),
                    "round {round}: {case} is acknowledged but missing after recovery"
                );
            }
            for (id, view) in &cases {
                let acks = this_round.get(id).map_or(&[][..], Vec::as_slice);
                if let Some(ended) = self.ended.get(id) {
                    assert_eq!(view, ended, "round {round}: ended {id} changed");
                    assert!(acks.is_empty(), "round {round}: ended {id} acknowledged");
                    if !full {
                        continue;
                    }
                }
                self.check_case(&engine, round, view, acks).await;
            }
            let acked = if full { &self.acked } else { &this_round };
            for ack in acked.values().flatten() {
                self.check_ack(&engine, round, ack).await;
            }
            if full {
                self.stats.cases = cases.len();
                self.stats.completed = cases
                    .values()
                    .filter(|c| c.state == CaseState::Completed)
                    .count();
            }
        });
    }

    /// Checks case `view` after round `round`, in which `acks` were acknowledged for it.
    async fn check_case(&mut self, engine: &Engine, round: u64, view: &CaseView, acks: &[Ack]) {
        let id = view.id;
        let at = format!("round {round}, {id}");
        let history = engine.history(id).await.unwrap();
        for (seq, entry) in history.iter().enumerate() {
            assert_eq!(entry.seq, seq as u64, "{at}: a gap in the log");
        }

        // Per case the child sends one command at a time, so this round appended exactly
        // the acknowledged commands, in order, and at most one more whose acknowledgement
        // was cut off.
        let before = self.histories.get(&id).map_or(&[][..], Vec::as_slice);
        assert!(history.starts_with(before), "{at}: earlier entries changed");
        let (old, new) = (before.len(), history.len());
        assert!(
            (old + acks.len()..=old + acks.len() + 1).contains(&new),
            "{at}: {old} entries before the round, {} acknowledged in it, {new} after:\n\
             acknowledged {acks:#?}\nlog {history:#?}",
            acks.len()
        );
        for (entry, ack) in history[old..].iter().zip(acks) {
            assert!(
                ack.is_logged_as(entry),
                "{at}: {ack:?} is logged as {entry:#?}"
            );
        }
        if new == old + acks.len() + 1 {
            self.stats.committed_unacked += 1;
        }

        // The whole log replayed through the kernel from the launch, ignoring the
        // engine's snapshots, gives the stored events and the recovered case.
        let Action::Launch {
            spec,
            data,
            seed,
            limits,
            ..
        } = &history[0].action
        else {
            panic!("{at}: the log does not start with a launch");
        };
        let compiled = Arc::clone(&engine.spec(&spec.id, Some(spec.version)).unwrap().compiled);
        let (mut case, events) = Case::launch(compiled, data.clone(), *seed, *limits).unwrap();
        assert_eq!(
            events, history[0].events,
            "{at}: launch events differ on replay"
        );
        for entry in &history[1..] {
            let Action::Command {
                command,
                worker: None,
            } = &entry.action
            else {
                panic!("{at}: unexpected action {:?}", entry.action);
            };
            let events = case
                .apply(command)
                .unwrap_or_else(|e| panic!("{at}: entry {} refused on replay: {e}", entry.seq));
            assert_eq!(
                events, entry.events,
                "{at}: entry {} differs on replay",
                entry.seq
            );
        }
        assert_eq!(
            &view.state,
            case.state(),
            "{at}: state differs from the replay"
        );
        assert_eq!(view.data, case.data(), "{at}: data differs from the replay");
        let query = WorkItemQuery {
            case: Some(id),
            ..Default::default()
        };
        let items: Vec<WorkItemView> = engine.work_items(&query).await.unwrap().items;
        let live: Vec<&WorkItemView> = items
            .iter()
            .filter(|i| {
                matches!(
                    i.status,
                    WorkItemStatus::Enabled | WorkItemStatus::Started | WorkItemStatus::Suspended
                )
            })
            .collect();
        assert_eq!(
            live.iter().map(|i| (i.id, i.status)).collect::<Vec<_>>(),
            case.work_items()
                .map(|i| (i.id, i.status))
                .collect::<Vec<_>>(),
            "{at}: live work items differ from the replay"
        );

        // The sequence net: items t0, t1, ... in order, all completed but the live one;
        // the data holds exactly the completed tasks' outputs.
        for (k, item) in items.iter().enumerate() {
            assert_eq!(*item.task, *format!("t{k}"), "{at}: items out of sequence");
        }
        let completed = items
            .iter()
            .filter(|i| i.status == WorkItemStatus::Completed)
            .count();
        let completed_events = history
            .iter()
            .flat_map(|e| &e.events)
            .filter(|e| matches!(e, Event::WorkItemCompleted { .. }))
            .count();
        assert_eq!(
            completed, completed_events,
            "{at}: completions vs their events"
        );
        let expected: serde_json::Map<String, Value> = (0..completed)
            .map(|k| (format!("t{k}"), json!(k)))
            .collect();
        assert_eq!(
            view.data,
            Value::Object(expected),
            "{at}: data vs completed tasks"
        );

        match &view.state {
            CaseState::Running => {
                assert_eq!(live.len(), 1, "{at}: a running case has one live item");
                assert_eq!(
                    items.len(),
                    completed + 1,
                    "{at}: an item neither live nor done"
                );
                // One token of control flow: in a condition while the item is offered, in
                // the busy task once it is started.
                let tokens: u32 = case.tokens(ROOT_INSTANCE).values().sum();
                let busy = case.busy_tasks(ROOT_INSTANCE);
                let started = match live[0].status {
                    WorkItemStatus::Enabled => {
                        assert_eq!((tokens, busy.len()), (1, 0), "{at}: token count");
                        false
                    }
                    WorkItemStatus::Started => {
                        assert_eq!(tokens, 0, "{at}: token count");
                        assert_eq!(busy, [format!("t{completed}")], "{at}: busy tasks");
                        true
                    }
                    other => panic!("{at}: live item is {other:?}"),
                };
                assert_eq!(
                    history.len(),
                    1 + 2 * completed + usize::from(started),
                    "{at}: log length"
                );
                if history.len() > 1 {
                    self.stats.mid_flight += 1;
                }
            }
            CaseState::Completed => {
                assert!(live.is_empty(), "{at}: live items in a completed case");
                assert_eq!(completed, TASKS, "{at}: completed early");
                assert_eq!(items.len(), TASKS, "{at}: an item neither live nor done");
                // The root keeps its final marking: the one token, on the output condition.
                let tokens: Vec<(String, u32)> = case.tokens(ROOT_INSTANCE).into_iter().collect();
                assert_eq!(tokens, [("o".to_owned(), 1)], "{at}: final marking");
                assert!(
                    case.busy_tasks(ROOT_INSTANCE).is_empty(),
                    "{at}: busy tasks"
                );
                assert_eq!(history.len(), 1 + 2 * TASKS, "{at}: log length");
                self.ended.insert(id, view.clone());
            }
            other => panic!("{at}: unexpected state {other:?}"),
        }
        self.histories.insert(id, history);
    }

    async fn check_ack(&self, engine: &Engine, round: u64, ack: &Ack) {
        let at = format!("round {round}, {ack:?}");
        let (case, item, task) = match ack {
            Ack::Launch(case) => {
                engine
                    .case(*case)
                    .await
                    .unwrap_or_else(|e| panic!("{at}: {e}"));
                return;
            }
            Ack::Start(case, item, task) | Ack::Complete(case, item, task) => (*case, *item, task),
        };
        let view = engine
            .work_item(case, item)
            .await
            .unwrap_or_else(|e| panic!("{at}: {e}"));
        assert_eq!(*view.task, **task, "{at}: task");
        if let Ack::Complete(..) = ack {
            assert_eq!(view.status, WorkItemStatus::Completed, "{at}: status");
            let completion = Event::WorkItemCompleted { work_item: item };
            assert!(
                self.histories[&case]
                    .iter()
                    .any(|e| e.events.contains(&completion)),
                "{at}: no completion in the history"
            );
        } else {
            assert!(
                matches!(
                    view.status,
                    WorkItemStatus::Started | WorkItemStatus::Completed
                ),
                "{at}: status {:?}",
                view.status
            );
        }
    }
}

async fn all_cases(engine: &Engine) -> BTreeMap<CaseId, CaseView> {
    let mut cases = BTreeMap::new();
    let mut after = None;
    loop {
        let query = CaseQuery {
            after,
            ..Default::default()
        };
        let page = engine.cases(&query).await.unwrap();
        cases.extend(page.items.into_iter().map(|listed| match listed {
            Listed::Case(c) => (c.id, c),
            Listed::Quarantined(q) => panic!("{} is quarantined: {}", q.id, q.reason),
        }));
        match page.next {
            Some(next) => after = Some(next),
            None => return cases,
        }
    }
}

#[test]
fn crash_rounds_lose_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();
    let mut checker = Checker::default();
    for round in 0..ROUNDS {
        let output = run_child(&exe, dir.path(), round);
        checker.check_round(dir.path(), round, &output, round + 1 == ROUNDS);
    }
    let stats = &checker.stats;
    eprintln!("crash test: {stats:?} in {:.1?}", started.elapsed());
    assert!(
        stats.kills_under_load >= 20,
        "too few kills under load: {stats:?}"
    );
    assert!(stats.acks > 20 * 5, "too few acknowledgements: {stats:?}");
    assert!(stats.completed > 0, "no case completed: {stats:?}");
    assert!(
        stats.mid_flight > 0,
        "no case was killed mid-flight: {stats:?}"
    );
}
