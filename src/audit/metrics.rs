//! Prometheus metrics: requests by endpoint, service and decision, how long
//! people take to decide, upstream latency; and counters kept elsewhere (STS
//! calls, the leaf certificate cache, pending holds), read at each scrape.

use std::sync::Mutex;
use std::sync::PoisonError;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::{Record, Verdict};

/// The labels of `clawgate_requests_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    endpoint: String,
    service: String,
    decision: String,
}

/// The labels of `clawgate_upstream_seconds`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct EndpointLabel {
    endpoint: String,
}

/// Whether a value read at scrape time only grows, or goes up and down.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Only grows (exported with `_total`).
    Counter,
    /// Goes up and down.
    Gauge,
}

/// A value kept elsewhere, read at each scrape.
struct Observed {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    read: Box<dyn Fn() -> u64 + Send + Sync>,
}

impl std::fmt::Debug for Observed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observed")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Collector for Observed {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let value = (self.read)();
        match self.kind {
            Kind::Counter => {
                let metric = encoder.encode_descriptor(self.name, self.help, None, MetricType::Counter)?;
                ConstCounter::new(value).encode(metric)
            }
            Kind::Gauge => {
                let metric = encoder.encode_descriptor(self.name, self.help, None, MetricType::Gauge)?;
                ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX)).encode(metric)
            }
        }
    }
}

/// Every metric clawgate exports.
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    approval_wait: Histogram,
    upstream: Family<EndpointLabel, Histogram>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let requests = Family::<RequestLabels, Counter>::default();
        // People: from a second to an hour.
        let approval_wait = Histogram::new([1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0]);
        // Upstreams: from 1 ms to about 33 s.
        let upstream = Family::<EndpointLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        let mut registry = Registry::default();
        registry.register(
            "clawgate_requests",
            "Requests decided, by endpoint, AWS service and decision",
            requests.clone(),
        );
        registry.register(
            "clawgate_approval_wait_seconds",
            "How long held requests waited for people to decide",
            approval_wait.clone(),
        );
        registry.register(
            "clawgate_upstream_seconds",
            "Time from sending a request upstream to its response head, by endpoint",
            upstream.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            requests,
            approval_wait,
            upstream,
        }
    }
}

impl Metrics {
    /// Exports `read()` as `name` at every scrape.
    pub fn observe(
        &self,
        name: &'static str,
        help: &'static str,
        kind: Kind,
        read: impl Fn() -> u64 + Send + Sync + 'static,
    ) {
        let observed = Observed {
            name,
            help,
            kind,
            read: Box::new(read),
        };
        self.lock().register_collector(Box::new(observed));
    }

    /// Counts a finished request.
    pub fn count(&self, record: &Record) {
        let endpoint = record.endpoint.clone().unwrap_or_default();
        let labels = RequestLabels {
            endpoint: endpoint.clone(),
            service: record.facets.get("aws.service").cloned().unwrap_or_default(),
            decision: record.decision.unwrap_or(Verdict::Deny).as_str().to_string(),
        };
        self.requests.get_or_create(&labels).inc();
        if let Some(waited) = record.approval.as_ref().filter(|a| a.hold.is_some()) {
            self.approval_wait.observe(waited.waited_ms as f64 / 1000.0);
        }
        if let Some(ms) = record.upstream_ms {
            self.upstream
                .get_or_create(&EndpointLabel { endpoint })
                .observe(ms as f64 / 1000.0);
        }
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.lock()) {
            tracing::error!(error = %e, "cannot render metrics");
        }
        text
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_waits_and_observed_values_are_exported() {
        let metrics = Metrics::default();
        let mut record = Record::begin("PUT", "s3.amazonaws.com", "/b/k");
        record.endpoint = Some("aws_api.org".into());
        record.facets.insert("aws.service".into(), "s3".into());
        record.decision = Some(Verdict::Approved);
        record.upstream_ms = Some(12);
        record.approval = Some(super::super::Approval {
            hold: Some(crate::ids::HoldId(1)),
            approvers: vec!["alice".into()],
            allowed_by: vec!["alice".into()],
            denied_by: None,
            reasons: vec![],
            outcome: "allowed",
            waited_ms: 2500,
        });
        metrics.count(&record);
        metrics.observe("clawgate_sts_calls", "STS calls", Kind::Counter, || 7);
        metrics.observe("clawgate_holds_pending", "Holds pending", Kind::Gauge, || 3);
        let text = metrics.render();
        for line in [
            r#"clawgate_requests_total{endpoint="aws_api.org",service="s3",decision="approved"} 1"#,
            r#"clawgate_approval_wait_seconds_bucket{le="5.0"} 1"#,
            r#"clawgate_upstream_seconds_count{endpoint="aws_api.org"} 1"#,
            "clawgate_sts_calls_total 7",
            "clawgate_holds_pending 3",
        ] {
            assert!(text.contains(line), "missing {line} in:\n{text}");
        }
    }
}
