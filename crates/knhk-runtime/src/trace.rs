//! Traces: the span each engine action runs in, and the trace each case belongs to.
//!
//! Every action on a case (launch, work-item or case command, offer, allocation, claim,
//! timer or lease expiry) runs in a `tracing` span named `knhk.action`, with `otel.name`
//! saying which action (`knhk launch`, `knhk complete_work_item`, ...) and the
//! attributes `knhk.case_id`, `knhk.spec_id`, `knhk.task_id` and `knhk.work_item_id`
//! where the action concerns a task or a work item; the store commit it waits for is a
//! child span, `knhk store commit`. Recovery applies records through `Slot::act`
//! directly, so replaying a log makes no spans.
//!
//! A case has one trace for its whole life, its [`CaseTrace`]: at launch, the launch
//! span's own ids (so the trace of the launch request, which the request's `traceparent`
//! may have chosen), or random ids when nothing is traced. It is logged with the launch
//! and kept in the slot and its snapshots, so "everything that happened to case 17" is
//! one trace, across days and restarts. A later action's span has the case's launch span
//! as its parent and a link to the span of the request that caused it.
//!
//! Why the OpenTelemetry API in this crate: `tracing` knows no remote parent and no
//! link. tracing-opentelemetry's `OpenTelemetrySpanExt` sets both on the span that the
//! binary's OpenTelemetry layer exports. Only the API and the bridge are used here (no
//! SDK, no exporter); when the binary installs no OpenTelemetry layer, the calls find
//! none and do nothing.

use std::sync::atomic::{AtomicU64, Ordering};

use knhk_kernel::{Command, WorkItemId};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use serde::{Deserialize, Serialize};
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::entry::Action;
use crate::store::CaseId;

/// The trace a case's actions belong to, in W3C Trace Context's hexadecimal form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseTrace {
    /// The trace id: 32 lowercase hexadecimal digits.
    pub trace_id: String,
    /// The span the case's actions hang under (its launch's): 16 hexadecimal digits.
    pub span_id: String,
}

impl CaseTrace {
    /// The trace of a case launched in `span`: the span's own ids when it is traced,
    /// otherwise fresh ones from `ids` (`None` only for ids W3C Trace Context calls
    /// invalid, all zeros).
    pub(crate) fn of(span: &Span, ids: &TraceIds) -> Option<CaseTrace> {
        let context = span.context();
        let own = context.span().span_context().clone();
        if own.is_valid() {
            return Some(CaseTrace {
                trace_id: own.trace_id().to_string(),
                span_id: own.span_id().to_string(),
            });
        }
        let bytes = ids.fresh();
        let trace = CaseTrace {
            trace_id: hex(&bytes[..16]),
            span_id: hex(&bytes[16..]),
        };
        // All-zero ids are invalid in W3C Trace Context; 2^-64 odds, but checked.
        trace.span_context().map(|_| trace)
    }

    /// The remote span context the case's later actions take as their parent.
    fn span_context(&self) -> Option<SpanContext> {
        let trace_id = TraceId::from_hex(&self.trace_id).ok()?;
        let span_id = SpanId::from_hex(&self.span_id).ok()?;
        let context = SpanContext::new(
            trace_id,
            span_id,
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        context.is_valid().then_some(context)
    }
}

/// Where the ids of untraced cases come from: a random seed drawn once per engine, and
/// a counter, mixed (SplitMix64). Unique per engine, unpredictable across engines, and
/// no system call per launch.
#[derive(Debug)]
pub(crate) struct TraceIds {
    seed: u64,
    next: AtomicU64,
}

impl TraceIds {
    /// A fresh seed from the operating system; if it cannot give one, the clock's
    /// nanoseconds (ids stay unique per engine, only less unpredictable).
    pub(crate) fn new() -> TraceIds {
        let mut seed = [0u8; 8];
        let seed = match getrandom::fill(&mut seed) {
            Ok(()) => u64::from_le_bytes(seed),
            Err(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
        };
        TraceIds {
            seed,
            next: AtomicU64::new(0),
        }
    }

    /// 24 bytes for a new trace id (16) and span id (8).
    fn fresh(&self) -> [u8; 24] {
        let n = self.next.fetch_add(3, Ordering::Relaxed);
        let mut bytes = [0u8; 24];
        for (k, chunk) in bytes.chunks_exact_mut(8).enumerate() {
            let mut z = self
                .seed
                .wrapping_add((n + k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        bytes
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text
}

/// What an action span says about its case.
pub(crate) struct ActionSite<'a> {
    pub(crate) case: CaseId,
    pub(crate) spec_id: &'a str,
    /// The case's trace; `None` for a launch (whose span starts the trace) and for cases
    /// launched before cases had one.
    pub(crate) trace: Option<&'a CaseTrace>,
}

/// The span of an action named `name` on a case, with its attributes, its case's
/// trace as parent and a link to the current span (the request's), to be entered while
/// the action is applied and committed.
pub(crate) fn action_span(
    site: &ActionSite<'_>,
    name: &'static str,
    task: Option<&str>,
    work_item: Option<WorkItemId>,
) -> Span {
    let span = tracing::info_span!(
        "knhk.action",
        otel.name = name,
        knhk.case_id = %site.case.0,
        knhk.spec_id = site.spec_id,
        knhk.task_id = Empty,
        knhk.work_item_id = Empty,
    );
    // Nothing listens (no exporter, and the log filter drops `info` spans): the rest
    // would only format ids and parse the case's trace for nobody.
    if span.is_disabled() {
        return span;
    }
    if let Some(task) = task {
        span.record("knhk.task_id", task);
    }
    if let Some(item) = work_item {
        span.record("knhk.work_item_id", format!("{}-{}", site.case.0, item.0));
    }
    if let Some(parent) = site.trace.and_then(CaseTrace::span_context) {
        let request = Span::current().context().span().span_context().clone();
        // Set before anything starts the span: tracing-opentelemetry fixes the parent
        // when the span starts. Without an OpenTelemetry layer this finds none.
        let _no_layer =
            span.set_parent(opentelemetry::Context::new().with_remote_span_context(parent.clone()));
        if request.is_valid() && request.trace_id() != parent.trace_id() {
            span.add_link(request);
        }
    }
    span
}

/// The action's span name.
pub(crate) fn name(action: &Action) -> &'static str {
    match action {
        Action::Launch { .. } => "knhk launch",
        Action::Claim { .. } => "knhk claim",
        Action::Offer { .. } => "knhk offer",
        Action::Allocate { .. } => "knhk allocate",
        Action::ExpireLease { .. } => "knhk expire_lease",
        Action::Command { command, .. } => match command {
            Command::StartWorkItem { .. } => "knhk start_work_item",
            Command::CompleteWorkItem { .. } => "knhk complete_work_item",
            Command::ReleaseWorkItem { .. } => "knhk release_work_item",
            Command::SuspendWorkItem { .. } => "knhk suspend_work_item",
            Command::ResumeWorkItem { .. } => "knhk resume_work_item",
            Command::FailWorkItem { .. } => "knhk fail_work_item",
            Command::CancelTask { .. } => "knhk cancel_task",
            Command::CompleteTask { .. } => "knhk complete_task",
            Command::AddInstance { .. } => "knhk add_instance",
            Command::Signal { .. } => "knhk signal",
            Command::TimerExpired { .. } => "knhk timer_expired",
            Command::CancelCase => "knhk cancel_case",
            Command::SuspendCase => "knhk suspend_case",
            Command::ResumeCase => "knhk resume_case",
            Command::FailCase { .. } => "knhk fail_case",
        },
    }
}

/// The work item an action concerns, if one.
pub(crate) fn work_item(action: &Action) -> Option<WorkItemId> {
    match action {
        Action::Launch { .. } => None,
        Action::Claim { work_item, .. }
        | Action::Offer { work_item, .. }
        | Action::Allocate { work_item, .. }
        | Action::ExpireLease { work_item } => Some(*work_item),
        Action::Command { command, .. } => match command {
            Command::StartWorkItem { work_item }
            | Command::CompleteWorkItem { work_item, .. }
            | Command::ReleaseWorkItem { work_item }
            | Command::SuspendWorkItem { work_item }
            | Command::ResumeWorkItem { work_item }
            | Command::FailWorkItem { work_item, .. }
            | Command::TimerExpired { work_item } => Some(*work_item),
            _ => None,
        },
    }
}

/// The task a case command names, if one.
pub(crate) fn command_task(action: &Action) -> Option<&str> {
    match action {
        Action::Command {
            command:
                Command::CancelTask { task, .. }
                | Command::CompleteTask { task, .. }
                | Command::AddInstance { task, .. },
            ..
        } => Some(task),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_untraced_launch_gets_random_valid_ids() {
        let ids = TraceIds::new();
        let one = CaseTrace::of(&Span::none(), &ids).unwrap();
        let two = CaseTrace::of(&Span::none(), &ids).unwrap();
        let other = CaseTrace::of(&Span::none(), &TraceIds::new()).unwrap();
        assert_ne!(one, other);
        assert_ne!(one, two);
        assert_eq!((one.trace_id.len(), one.span_id.len()), (32, 16));
        assert!(one.span_context().is_some());
    }

    #[test]
    fn ids_that_do_not_parse_give_no_parent() {
        let bad = CaseTrace {
            trace_id: "not hex".to_owned(),
            span_id: "0000000000000000".to_owned(),
        };
        assert!(bad.span_context().is_none());
    }
}
