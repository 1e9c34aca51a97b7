//! Traces: the span each engine action runs in, and the trace each case belongs to.
//!
//! Every action on a case (launch, work-item or case command, offer, allocation, claim,
//! timer or lease expiry) runs in a `tracing` span named `knhk.action`, with `otel.name`
//! saying which action (`knhk launch`, `knhk complete_work_item`, ...) and the
//! attributes `knhk.case_id`, `knhk.spec_id`, `knhk.task_id` and `knhk.work_item_id`
//! where the action concerns a task or a work item, and `knhk.commit.records` and
//! `knhk.commit.wait_us` for the store commit it waited for. Recovery applies records
//! through `Slot::act` directly, so replaying a log makes no spans.
//!
//! A case has one trace for its whole life, its [`CaseTrace`]: the launch span's own ids
//! (so the trace of the launch request, which the request's `traceparent` may have
//! chosen), stored with the launch and kept in the slot and its snapshots, so "everything
//! that happened to case 17" is one trace, across days and restarts. A later action's
//! span has the case's launch span as its parent and a link to the span of the request
//! that caused it. A case launched while nothing was traced, or whose launch the
//! sampler (`OTEL_TRACES_SAMPLER`) left out, has no trace (nothing is drawn or stored
//! for it: no exporter, no cost); its later actions join their requests' traces.
//!
//! Why the OpenTelemetry API in this crate: `tracing` knows no remote parent and no
//! link. tracing-opentelemetry's `OpenTelemetrySpanExt` sets both on the span that the
//! binary's OpenTelemetry layer exports. Only the API and the bridge are used here (no
//! SDK, no exporter); when the binary installs no OpenTelemetry layer, the calls find
//! none and do nothing.

use std::cell::Cell;

use knhk_kernel::{Command, WorkItemId};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use serde::{Deserialize, Serialize};
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::entry::Action;
use crate::store::CaseId;

/// The trace a case's actions belong to. Stored in W3C Trace Context's hexadecimal form
/// (`{"trace_id": "<32 digits>", "span_id": "<16 digits>"}`), held as the ids
/// themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseTrace {
    /// The trace id.
    #[serde(with = "hex_id")]
    pub trace_id: TraceId,
    /// The span the case's actions hang under (its launch's).
    #[serde(with = "hex_id")]
    pub span_id: SpanId,
}

impl CaseTrace {
    /// The trace of a case launched in `span`: the span's own ids, when it is traced and
    /// sampled. (The later actions' parent is marked sampled: an unsampled launch's
    /// trace would make them children of a span no backend has.)
    pub(crate) fn of(span: &Span) -> Option<CaseTrace> {
        // Nothing traced (no exporter): no OpenTelemetry context to look up, no ids.
        if span.is_disabled() {
            return None;
        }
        let context = span.context();
        let own = context.span();
        let own = own.span_context();
        (own.is_valid() && own.is_sampled()).then(|| CaseTrace {
            trace_id: own.trace_id(),
            span_id: own.span_id(),
        })
    }

    /// The remote span context the case's later actions take as their parent.
    fn span_context(&self) -> Option<SpanContext> {
        let context = SpanContext::new(
            self.trace_id,
            self.span_id,
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        context.is_valid().then_some(context)
    }
}

/// Trace and span ids as their lowercase hexadecimal digits. Digits that do not parse
/// (a damaged record) read as the invalid all-zero id, which gives no parent: a case
/// never becomes unreadable for its trace.
mod hex_id {
    use std::borrow::Cow;
    use std::fmt::Display;

    use opentelemetry::trace::{SpanId, TraceId};
    use serde::{Deserialize, Deserializer, Serializer};

    /// A trace or a span id: it displays as its fixed-width lowercase digits.
    pub(super) trait Id: Display + Sized {
        const INVALID: Self;
        fn from_hex(hex: &str) -> Option<Self>;
    }

    impl Id for TraceId {
        const INVALID: TraceId = TraceId::INVALID;
        fn from_hex(hex: &str) -> Option<TraceId> {
            TraceId::from_hex(hex).ok()
        }
    }

    impl Id for SpanId {
        const INVALID: SpanId = SpanId::INVALID;
        fn from_hex(hex: &str) -> Option<SpanId> {
            SpanId::from_hex(hex).ok()
        }
    }

    pub(super) fn serialize<I: Id, S: Serializer>(
        id: &I,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(id)
    }

    pub(super) fn deserialize<'de, I: Id, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<I, D::Error> {
        let hex = Cow::<'de, str>::deserialize(deserializer)?;
        Ok(I::from_hex(&hex).unwrap_or(I::INVALID))
    }
}

thread_local! {
    /// Whether the spans made on this thread now are left out of traces: set while a
    /// request that was not sampled is polled (see [`leave_out`]).
    static LEFT_OUT: Cell<bool> = const { Cell::new(false) };
}

/// Runs `run` with the spans it makes on this thread left out of traces (`left_out`),
/// or not. The server polls a request that its sampler did not take so; the binary's
/// OpenTelemetry layer then declines every span ([`left_out`]), and an unsampled request
/// costs no span at all instead of spans that are built only to be dropped.
pub fn leave_out<R>(left_out: bool, run: impl FnOnce() -> R) -> R {
    /// Puts the flag back however `run` ends.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            LEFT_OUT.set(self.0);
        }
    }
    let _restore = Restore(LEFT_OUT.replace(left_out));
    run()
}

/// Whether spans made on this thread now are left out of traces (see [`leave_out`]).
pub fn left_out() -> bool {
    LEFT_OUT.get()
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
    let span = || {
        tracing::info_span!(
            "knhk.action",
            otel.name = name,
            knhk.case_id = %site.case.0,
            knhk.spec_id = site.spec_id,
            knhk.task_id = Empty,
            knhk.work_item_id = Empty,
            knhk.commit.records = Empty,
            knhk.commit.wait_us = Empty,
        )
    };
    // A case's trace was sampled at its launch: its actions belong to it even when the
    // request that causes one was left out. Otherwise a left-out request makes no span:
    // not even one that every layer declines, which `tracing`'s registry would still
    // keep (its per-layer filters decline a span to their layer, not to the registry).
    let span = match site.trace {
        Some(_) => leave_out(false, span),
        None if left_out() => return Span::none(),
        None => span(),
    };
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
    fn an_untraced_launch_has_no_trace() {
        assert_eq!(CaseTrace::of(&Span::none()), None);
    }

    #[test]
    fn a_trace_is_stored_as_hexadecimal_digits() {
        let trace = CaseTrace {
            trace_id: TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
            span_id: SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        };
        let json = serde_json::to_string(&trace).unwrap();
        assert_eq!(
            json,
            r#"{"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"00f067aa0ba902b7"}"#
        );
        assert_eq!(serde_json::from_str::<CaseTrace>(&json).unwrap(), trace);
    }

    #[test]
    fn ids_that_do_not_parse_give_no_parent() {
        let bad: CaseTrace =
            serde_json::from_str(r#"{"trace_id":"not hex","span_id":"00f067aa0ba902b7"}"#).unwrap();
        assert_eq!(bad.trace_id, TraceId::INVALID);
        assert!(bad.span_context().is_none());
    }
}
