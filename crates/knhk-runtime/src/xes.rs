//! The event log of a specification's cases as XES (IEEE 1849), for process mining
//! tools such as PM4Py and ProM.
//!
//! Owns the mapping from a case's history (the runtime's [`Action`]s and the kernel's
//! [`Event`]s) to XES events, and the XML. Leaves enumerating cases and reading their
//! logs to the [`Engine`], and transport to whoever calls (the server streams the
//! chunks as an HTTP body, the CLI saves them).
//!
//! Why here and not in the server: the mapping reads runtime types the HTTP layer
//! only passes through (who claimed or was allocated a work item is in the runtime's
//! actions, not in the kernel's events), and nothing in it is HTTP; the server stays a
//! translator. It is not in the kernel either: the kernel knows no time, no workers and
//! no formats.
//!
//! Data flow: [`Engine::xes_export`] checks the specification and returns an
//! [`XesExport`], whose [`XesExport::next_chunk`] gives the log's opening (extensions,
//! globals, classifiers), then one `<trace>` per case, then the closing tag. Only one
//! case's history is in memory at a time, so an export of any number of cases runs in
//! the memory of its largest case.
//!
//! The mapping, one XES event per work-item life-cycle transition (the standard
//! lifecycle model of the Lifecycle extension); `concept:name` is the task's id:
//!
//! | knhk                                         | `lifecycle:transition` |
//! |----------------------------------------------|------------------------|
//! | `work_item_enabled` (the item is offered)    | `schedule`             |
//! | allocation to a participant                  | `assign`               |
//! | `work_item_started` (start or claim)         | `start`                |
//! | `work_item_suspended` / `work_item_resumed`  | `suspend` / `resume`   |
//! | `work_item_released` (let go, lease expired) | `reassign`             |
//! | `work_item_completed`                        | `complete`             |
//! | `work_item_withdrawn`/cancelled, not started | `withdraw`             |
//! | `work_item_withdrawn`/cancelled, started     | `ate_abort`            |
//! | `work_item_failed` (which fails the case)    | `pi_abort`             |
//!
//! The standard model has no way back from started to scheduled, so a released item's
//! transition is `reassign` (its work is handed to someone else). An offer to
//! participants gives no event: the item was scheduled when enabled, and an offer names
//! several resources where XES has one. `org:resource` is the worker acting (the one
//! who claimed, started, completed, ...), else the participant the item is allocated to.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;

use knhk_kernel::{Event, WorkItemId, WorkItemStatus};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesStart, Event as Xml};

use crate::engine::{Engine, EngineError, HistoryEntry};
use crate::entry::Action;
use crate::store::CaseId;

/// The media type of an XES document.
pub const MEDIA_TYPE: &str = "application/xml";

/// How many case ids an export reads from the engine at a time.
const IDS_PER_PAGE: usize = 256;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum XesError {
    /// The engine refused or failed (an unknown specification, a store failure).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The XML could not be written.
    #[error("cannot write the XES document: {0}")]
    Write(#[from] std::io::Error),
}

/// Which events an export keeps: those at `from_ms <= at_ms < to_ms` (ms since the Unix
/// epoch); an absent bound does not limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// The earliest time kept, inclusive.
    pub from_ms: Option<u64>,
    /// The first time no longer kept (exclusive).
    pub to_ms: Option<u64>,
}

impl Window {
    /// Whether an event at `at_ms` is kept.
    pub fn contains(&self, at_ms: u64) -> bool {
        self.from_ms.is_none_or(|from| from <= at_ms) && self.to_ms.is_none_or(|to| at_ms < to)
    }
}

/// A transition of the XES standard lifecycle model (the ones knhk produces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The work item was enabled (offered).
    Schedule,
    /// It was allocated to a participant.
    Assign,
    /// A started item went back to enabled, for someone to start again.
    Reassign,
    /// It was started.
    Start,
    /// It was suspended.
    Suspend,
    /// It was resumed.
    Resume,
    /// It was completed.
    Complete,
    /// It was withdrawn or cancelled before it started.
    Withdraw,
    /// It was withdrawn or cancelled while started or suspended.
    AteAbort,
    /// It failed, and the case with it.
    PiAbort,
}

impl Transition {
    /// The value of `lifecycle:transition`.
    pub fn name(self) -> &'static str {
        match self {
            Transition::Schedule => "schedule",
            Transition::Assign => "assign",
            Transition::Reassign => "reassign",
            Transition::Start => "start",
            Transition::Suspend => "suspend",
            Transition::Resume => "resume",
            Transition::Complete => "complete",
            Transition::Withdraw => "withdraw",
            Transition::AteAbort => "ate_abort",
            Transition::PiAbort => "pi_abort",
        }
    }
}

/// One XES event: a life-cycle transition of a work item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XesEvent {
    /// The task's id (`concept:name`).
    pub task: String,
    /// The work item.
    pub work_item: WorkItemId,
    /// The transition (`lifecycle:transition`).
    pub transition: Transition,
    /// When (`time:timestamp`), in ms since the Unix epoch.
    pub at_ms: u64,
    /// Who (`org:resource`), where known.
    pub resource: Option<String>,
}

/// What the mapping remembers of a live work item.
#[derive(Debug, Default)]
struct Item {
    task: String,
    started: bool,
    /// The worker that started or claimed it, while it is started.
    worker: Option<String>,
    /// The participant it is allocated to.
    allocated: Option<String>,
}

impl Item {
    /// The resource of a transition `actor` makes (`None`: the engine or an unnamed
    /// person acts).
    fn resource(&self, actor: Option<&str>) -> Option<String> {
        actor
            .map(str::to_owned)
            .or_else(|| self.worker.clone())
            .or_else(|| self.allocated.clone())
    }
}

/// The XES events of a case's `history` (oldest first, as [`Engine::history`] gives
/// it), in order, keeping those `window` contains. The whole history is read, since an
/// event's task and resource come from earlier entries.
pub fn events(history: &[HistoryEntry], window: Window) -> Vec<XesEvent> {
    let mut items: BTreeMap<WorkItemId, Item> = BTreeMap::new();
    let mut out = Vec::new();
    for entry in history {
        let at_ms = entry.at_ms;
        let mut emit = |item: &Item, work_item, transition, resource| {
            if window.contains(at_ms) {
                out.push(XesEvent {
                    task: item.task.clone(),
                    work_item,
                    transition,
                    at_ms,
                    resource,
                });
            }
        };
        let actor = match &entry.action {
            Action::Command { worker, .. } => worker.as_deref(),
            Action::Claim { worker, .. } => Some(worker.as_str()),
            Action::Allocate {
                work_item,
                participant,
            } => {
                if let Some(item) = items.get_mut(work_item) {
                    item.allocated = Some(participant.clone());
                    emit(item, *work_item, Transition::Assign, item.allocated.clone());
                }
                None
            }
            Action::Launch { .. } | Action::Offer { .. } | Action::ExpireLease { .. } => None,
        };
        for event in &entry.events {
            let (work_item, transition) = match event {
                Event::WorkItemEnabled {
                    work_item, task, ..
                } => {
                    let item = Item {
                        task: task.to_string(),
                        ..Item::default()
                    };
                    emit(&item, *work_item, Transition::Schedule, None);
                    items.insert(*work_item, item);
                    continue;
                }
                Event::WorkItemStarted { work_item } => (work_item, Transition::Start),
                Event::WorkItemSuspended { work_item } => (work_item, Transition::Suspend),
                Event::WorkItemResumed { work_item } => (work_item, Transition::Resume),
                Event::WorkItemReleased { work_item } => (work_item, Transition::Reassign),
                Event::WorkItemCompleted { work_item } => (work_item, Transition::Complete),
                Event::WorkItemFailed { work_item } => (work_item, Transition::PiAbort),
                Event::WorkItemWithdrawn { work_item, status } => {
                    debug_assert!(matches!(
                        status,
                        WorkItemStatus::Withdrawn | WorkItemStatus::Cancelled
                    ));
                    let started = items.get(work_item).is_some_and(|item| item.started);
                    let transition = if started {
                        Transition::AteAbort
                    } else {
                        Transition::Withdraw
                    };
                    (work_item, transition)
                }
                _ => continue,
            };
            // An item the history never enabled cannot occur in a log the kernel wrote;
            // it is passed over rather than named wrongly.
            let Some(item) = items.get_mut(work_item) else {
                continue;
            };
            // A withdrawal or cancellation is not the acting worker's doing on this item
            // (it starts another branch, fails the case, ...): its resource is the item's.
            let actor = match transition {
                Transition::Withdraw | Transition::AteAbort => None,
                _ => actor,
            };
            let resource = item.resource(actor);
            match transition {
                Transition::Start => {
                    item.started = true;
                    item.worker = resource.clone();
                }
                Transition::Reassign => {
                    item.started = false;
                    item.worker = None;
                }
                _ => {}
            }
            emit(item, *work_item, transition, resource);
            if matches!(
                transition,
                Transition::Complete
                    | Transition::Withdraw
                    | Transition::AteAbort
                    | Transition::PiAbort
            ) {
                items.remove(work_item);
            }
        }
    }
    out
}

/// `at_ms` (ms since the Unix epoch) as an XES date: ISO 8601 in UTC with milliseconds
/// and an explicit offset, `2024-05-01T12:34:56.789+00:00`.
pub fn timestamp(at_ms: u64) -> String {
    const DAY_MS: u64 = 86_400_000;
    let (days, ms_of_day) = (at_ms / DAY_MS, at_ms % DAY_MS);
    let (year, month, day) = civil_from_days(days);
    let (seconds, ms) = (ms_of_day / 1000, ms_of_day % 1000);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}+00:00",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The proleptic Gregorian date `days` days after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch: all unsigned).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shifted to start on 0000-03-01, so that the leap day ends each 400-year era.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// `text` as XML 1.0 can carry it: characters XML forbids (control characters but tab,
/// line feed and carriage return; U+FFFE, U+FFFF) become U+FFFD. Identifiers and names
/// never hold them (the model's rule), so this only guards against a log written
/// before that rule.
fn xml_text(text: &str) -> std::borrow::Cow<'_, str> {
    let forbidden = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    };
    if text.contains(forbidden) {
        text.chars()
            .map(|c| if forbidden(c) { '\u{FFFD}' } else { c })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// Writes `<KIND key=".." value=".."/>`, escaping both (quick-xml escapes attribute
/// values: `<`, `>`, `&`, quotes, tab and line breaks).
fn attribute<W: Write>(
    xml: &mut Writer<W>,
    kind: &str,
    key: &str,
    value: &str,
) -> std::io::Result<()> {
    xml.create_element(kind)
        .with_attribute(("key", xml_text(key).as_ref()))
        .with_attribute(("value", xml_text(value).as_ref()))
        .write_empty()
        .map(drop)
}

/// The XES extensions the log uses: name, prefix, URI.
const EXTENSIONS: [(&str, &str, &str); 4] = [
    (
        "Concept",
        "concept",
        "http://www.xes-standard.org/concept.xesext",
    ),
    (
        "Lifecycle",
        "lifecycle",
        "http://www.xes-standard.org/lifecycle.xesext",
    ),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    (
        "Organizational",
        "org",
        "http://www.xes-standard.org/org.xesext",
    ),
];

/// Writes the log's opening: the XML declaration, `<log>`, the extensions, the globals
/// (every trace has `concept:name`; every event `concept:name`,
/// `lifecycle:transition` and `time:timestamp`), the classifiers (by activity, and by
/// activity and transition), and the log's attributes (its name is `spec_id`).
pub fn write_log_start<W: Write>(out: W, spec_id: &str) -> std::io::Result<()> {
    let mut xml = Writer::new_with_indent(out, b' ', 2);
    xml.write_event(Xml::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let log = BytesStart::new("log").with_attributes([
        ("xes.version", "1849-2016"),
        ("xes.features", "nested-attributes"),
        ("xmlns", "http://www.xes-standard.org/"),
    ]);
    xml.write_event(Xml::Start(log))?;
    for (name, prefix, uri) in EXTENSIONS {
        xml.create_element("extension")
            .with_attributes([("name", name), ("prefix", prefix), ("uri", uri)])
            .write_empty()?;
    }
    xml.create_element("global")
        .with_attribute(("scope", "trace"))
        .write_inner_content(|xml| attribute(xml, "string", "concept:name", "__INVALID__"))?;
    xml.create_element("global")
        .with_attribute(("scope", "event"))
        .write_inner_content(|xml| {
            attribute(xml, "string", "concept:name", "__INVALID__")?;
            attribute(xml, "string", "lifecycle:transition", "complete")?;
            attribute(xml, "date", "time:timestamp", &timestamp(0))
        })?;
    for (name, keys) in [
        ("Activity", "concept:name"),
        (
            "Activity and lifecycle",
            "concept:name lifecycle:transition",
        ),
    ] {
        xml.create_element("classifier")
            .with_attributes([("name", name), ("keys", keys)])
            .write_empty()?;
    }
    attribute(&mut xml, "string", "concept:name", spec_id)?;
    attribute(&mut xml, "string", "lifecycle:model", "standard")
}

/// Writes one `<trace>` for case `case` with `events` (`concept:name` is the case's
/// number; each event also carries `work_item`, the API's work-item id, which pairs
/// the transitions of one item when a task has several).
pub fn write_trace<W: Write>(mut out: W, case: CaseId, events: &[XesEvent]) -> std::io::Result<()> {
    let mut xml = Writer::new_with_indent(Vec::new(), b' ', 2);
    xml.create_element("trace").write_inner_content(|xml| {
        attribute(xml, "string", "concept:name", &case.0.to_string())?;
        for event in events {
            xml.create_element("event").write_inner_content(|xml| {
                attribute(xml, "string", "concept:name", &event.task)?;
                attribute(
                    xml,
                    "string",
                    "lifecycle:transition",
                    event.transition.name(),
                )?;
                attribute(xml, "date", "time:timestamp", &timestamp(event.at_ms))?;
                if let Some(resource) = &event.resource {
                    attribute(xml, "string", "org:resource", resource)?;
                }
                let work_item = format!("{}-{}", case.0, event.work_item.0);
                attribute(xml, "string", "work_item", &work_item)
            })?;
        }
        Ok(())
    })?;
    // The trace sits one level inside `<log>`, which this writer does not know of: each
    // line moves in by two spaces. Every line break in the text is indentation, since
    // attribute values carry theirs escaped (`&#10;`).
    let text = xml.into_inner();
    let mut indented = Vec::with_capacity(text.len() + text.len() / 8);
    indented.extend_from_slice(b"\n  ");
    for byte in text {
        if byte == b'\n' {
            indented.extend_from_slice(b"\n  ");
        } else {
            indented.push(byte);
        }
    }
    out.write_all(&indented)
}

/// Writes the log's closing tag.
pub fn write_log_end<W: Write>(mut out: W) -> std::io::Result<()> {
    out.write_all(b"\n</log>\n")
}

/// Where an export is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Start,
    Traces,
    Done,
}

/// An export in progress: the XES document of a specification's cases, chunk by chunk
/// (see [`Engine::xes_export`]).
#[derive(Debug)]
pub struct XesExport {
    engine: Engine,
    spec_id: String,
    window: Window,
    stage: Stage,
    /// Case ids read from the engine and not yet exported.
    pending: VecDeque<CaseId>,
    /// Where the next page of ids starts; `None` once every page was read.
    next: Option<CaseId>,
}

impl Engine {
    /// Starts an export of the cases of specification `spec_id` (every version) as XES,
    /// with the events `window` keeps. [`EngineError::UnknownSpec`] if no version of
    /// `spec_id` was ever registered. The cases are those existing as the export goes:
    /// case ids only grow, so a case launched during the export may be included.
    pub async fn xes_export(&self, spec_id: &str, window: Window) -> Result<XesExport, XesError> {
        let page = self.spec_case_ids(spec_id, None, IDS_PER_PAGE).await?;
        Ok(XesExport {
            engine: self.clone(),
            spec_id: spec_id.to_owned(),
            window,
            stage: Stage::Start,
            pending: page.items.into(),
            next: page.next,
        })
    }
}

impl XesExport {
    /// The next piece of the document, `None` after the last: the opening, then one
    /// trace per case that has events in the window, then the closing. A quarantined
    /// case is left out (its records do not load); any other failure ends the export
    /// with the error.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, XesError> {
        let mut chunk = Vec::new();
        match self.stage {
            Stage::Start => {
                write_log_start(&mut chunk, &self.spec_id)?;
                self.stage = Stage::Traces;
                return Ok(Some(chunk));
            }
            Stage::Done => return Ok(None),
            Stage::Traces => {}
        }
        // Cases without events in the window give no trace: on to the next.
        loop {
            let Some(case) = self.next_case().await? else {
                write_log_end(&mut chunk)?;
                self.stage = Stage::Done;
                return Ok(Some(chunk));
            };
            let history = match self.engine.history(case).await {
                Ok(history) => history,
                Err(EngineError::Quarantined(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            let events = events(&history, self.window);
            if events.is_empty() {
                continue;
            }
            write_trace(&mut chunk, case, &events)?;
            return Ok(Some(chunk));
        }
    }

    /// The next case to export, reading the next page of ids when needed.
    async fn next_case(&mut self) -> Result<Option<CaseId>, XesError> {
        loop {
            if let Some(case) = self.pending.pop_front() {
                return Ok(Some(case));
            }
            let Some(after) = self.next else {
                return Ok(None);
            };
            let page = self
                .engine
                .spec_case_ids(&self.spec_id, Some(after), IDS_PER_PAGE)
                .await?;
            self.pending = page.items.into();
            self.next = page.next;
        }
    }
}

#[cfg(test)]
mod tests;
