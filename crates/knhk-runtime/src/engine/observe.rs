//! What the engine shows of itself at each scrape and after each commit: the in-flight
//! census of a case, the divisor of a hot-path sample, and the collector that counts the
//! quarantined cases and broken specification versions when Prometheus asks.

use knhk_kernel::{CaseState, Event, WorkItemStatus};

use super::slot::{Resourcing, Slot};
use super::{Inner, Resident, read};
use crate::metrics::CaseCensus;

/// What case `slot` contributes to the in-flight gauges: nothing once it has ended.
pub(super) fn census(slot: &Slot) -> Option<CaseCensus> {
    // Positions in `metrics::IN_FLIGHT_STATES` and `metrics::LIVE_STATUSES`.
    let state = match slot.case.state() {
        CaseState::Running => 0,
        CaseState::Suspended => 1,
        _ => return None,
    };
    let mut census = CaseCensus {
        state,
        items: Default::default(),
    };
    for item in slot.case.work_items() {
        let resourcing = slot.items.get(&item.id).map(|info| &info.resourcing);
        let status = match (item.status, resourcing) {
            (WorkItemStatus::Enabled, Some(Resourcing::Offered { .. })) => 1,
            (WorkItemStatus::Enabled, Some(Resourcing::Allocated { .. })) => 2,
            (WorkItemStatus::Enabled, _) => 0,
            (WorkItemStatus::Started, _) => 3,
            (WorkItemStatus::Suspended, _) => 4,
            // A live work item is enabled, started or suspended.
            _ => continue,
        };
        census.items[status] += 1;
    }
    Some(census)
}

/// The transitions a command fired and completed: the divisor of a hot-path sample.
pub(super) fn transitions(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::TaskFired { .. } | Event::TaskCompleted { .. }))
        .count()
}

/// The part of the engine's metrics read at each scrape: counted from the cases and
/// the registry rather than kept up to date on every change, since they change rarely.
#[derive(Debug)]
pub(super) struct Collector(pub(super) std::sync::Weak<Inner>);

impl prometheus_client::collector::Collector for Collector {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        use prometheus_client::metrics::gauge::ConstGauge;

        let Some(inner) = self.0.upgrade() else {
            return Ok(());
        };
        let quarantined = read(&inner.cases)
            .values()
            .filter(|r| matches!(r, Resident::Quarantined(_)))
            .count();
        let broken = read(&inner.registry).broken().len();
        for (name, help, n) in [
            (
                "knhk_cases_quarantined",
                "Cases set aside because their stored records cannot be loaded",
                quarantined,
            ),
            (
                "knhk_specifications_broken",
                "Stored specification versions that no longer load",
                broken,
            ),
        ] {
            let gauge = ConstGauge::new(i64::try_from(n).unwrap_or(i64::MAX));
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}
