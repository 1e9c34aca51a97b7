//! What the engine shows of itself at each scrape and after each commit: the in-flight
//! census of a case, the divisor of a hot-path sample, and the collector that reads the
//! OR-joins' decisions and the quarantined cases when Prometheus asks.

use std::collections::BTreeMap;

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

/// The part of the engine's metrics read at each scrape.
#[derive(Debug)]
pub(super) struct Collector(pub(super) std::sync::Weak<Inner>);

impl prometheus_client::collector::Collector for Collector {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        use prometheus_client::metrics::counter::ConstCounter;
        use prometheus_client::metrics::gauge::ConstGauge;

        let Some(inner) = self.0.upgrade() else {
            return Ok(());
        };
        // Every version of a specification shares its id's label; ids past the cap share
        // `other`.
        let mut decisions: BTreeMap<(String, &str, &str), u64> = BTreeMap::new();
        let mut work: BTreeMap<String, u64> = BTreeMap::new();
        for version in read(&inner.registry).all() {
            let stats = version.compiled.or_join_stats();
            let spec = inner.metrics.spec_label(&version.spec_ref.id);
            for verdict in knhk_kernel::OrJoinVerdict::ALL {
                let i = verdict.index();
                for (source, n) in [("analysis", stats.analysed[i]), ("cache", stats.cached[i])] {
                    *decisions
                        .entry((spec.clone(), verdict.name(), source))
                        .or_default() += n;
                }
            }
            *work.entry(spec).or_default() += stats.work;
        }
        let counter = ConstCounter::new(0u64);
        let mut family = encoder.encode_descriptor(
            "knhk_or_join_decisions",
            "OR-join decisions by verdict (unknown: the analysis ran out of budget) and by \
             source (a fresh analysis, or the cache of earlier verdicts)",
            None,
            counter.metric_type(),
        )?;
        for ((spec_id, verdict, source), n) in decisions {
            let labels = [
                ("spec_id", spec_id.as_str()),
                ("verdict", verdict),
                ("source", source),
            ];
            ConstCounter::new(n).encode(family.encode_family(&labels)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "knhk_or_join_analysis_work",
            "Work units the OR-join analyses spent (the unit of the budget \
             limits.or_join_work_max: one backward step)",
            None,
            counter.metric_type(),
        )?;
        for (spec_id, n) in work {
            ConstCounter::new(n).encode(family.encode_family(&[("spec_id", spec_id.as_str())])?)?;
        }
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
