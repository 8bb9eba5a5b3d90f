//! What `/metrics` shows: a Prometheus registry that [`Writ`] owns (no
//! process-wide globals: two instances in one test process count apart).
//!
//! Cheap on the hot path: a token request finds its counter and latency
//! histogram in a fixed table (an atomic load once the slot is filled) and
//! counts with atomic adds; refusals look their reason up in a small map
//! under a read lock that is never held across an `.await`. What only a
//! scrape needs (database pools, the audit queue) is read at scrape time.
//!
//! Bounded labels: no label ever carries what a caller sent. Methods and
//! grants come from fixed lists (anything else is `other`), refusal reasons
//! are the `&'static str` reasons of [`OAuthError`] (compiled in, so a
//! finite set), checked for shape and capped in number on top of that.

use crate::service::Writ;
use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use writ_core::OAuthError;
use writ_core::grant::{
    AUTH_CLIENT_SECRET_BASIC, AUTH_CLIENT_SECRET_JWT, AUTH_CLIENT_SECRET_POST,
    AUTH_PRIVATE_KEY_JWT, GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE,
};

/// The `Content-Type` of [`Writ::render_metrics`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `grant` label values: the grant asked for.
const GRANTS: [&str; 4] = ["client_credentials", "token_exchange", "none", "other"];
/// `method` label values: the audit log's method names; `none` when no
/// client authentication was recognised.
const METHODS: [&str; 9] = [
    AUTH_CLIENT_SECRET_POST,
    AUTH_CLIENT_SECRET_BASIC,
    AUTH_PRIVATE_KEY_JWT,
    AUTH_CLIENT_SECRET_JWT,
    "pca_federated",
    "oidc_federated",
    "pkcs7_federated",
    "none",
    "other",
];
const OUTCOMES: [&str; 2] = ["issued", "refused"];
/// Distinct refusal reasons counted by name; any further one is `other`.
const MAX_REASONS: usize = 128;
/// Upper bounds (seconds) of the token latency buckets: an issued secret
/// token takes a few ms (its audit commit); argon2 and remote keys, more.
const LATENCY_BOUNDS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    grant: &'static str,
    method: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    error: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabel {
    pool: &'static str,
}

/// Which token-request series a request counts in: its grant and client
/// authentication method, mapped to fixed labels.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TokenKind {
    grant: usize,
    method: usize,
}

impl TokenKind {
    /// `grant_type` as sent, and the audit record's method (empty: none
    /// recognised); anything not in the fixed lists is `other`.
    pub(crate) fn new(grant: Option<&str>, method: &str) -> Self {
        Self {
            grant: grant_index(grant),
            method: method_index(method),
        }
    }
}

pub(crate) struct Metrics {
    registry: Registry,
    tokens: Family<TokenLabels, Counter>,
    latency: Family<TokenLabels, Latency>,
    /// One slot per (grant, method, outcome), filled on first use.
    slots: Vec<OnceLock<(Counter, Latency)>>,
    refusals: Family<RefusalLabels, Counter>,
    reasons: AtomicUsize,
    jwks_ok: Counter,
    jwks_failed: Counter,
    pool_connections: Family<PoolLabels, Gauge>,
    pool_max: Family<PoolLabel, Gauge>,
    audit_queue: Gauge,
    audit_queue_capacity: Gauge,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("writ");
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register(
            "token_requests",
            "Token endpoint requests answered, by grant, client authentication method and outcome",
            tokens.clone(),
        );
        let latency = Family::<TokenLabels, Latency>::default();
        registry.register_with_unit(
            "token_request_duration",
            "Time from a parsed token request to its answer (an issued token includes its audit commit)",
            Unit::Seconds,
            latency.clone(),
        );
        let refusals = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "token_refusals",
            "Token requests refused, by OAuth error code and audit reason",
            refusals.clone(),
        );
        let jwks = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "jwks_fetches",
            "Fetches of remote OIDC keys (discovery and JWKS) by the token endpoint, by outcome",
            jwks.clone(),
        );
        let jwks_ok = jwks.get_or_create(&OutcomeLabel { outcome: "ok" }).clone();
        let jwks_failed = jwks
            .get_or_create(&OutcomeLabel { outcome: "failed" })
            .clone();
        let pool_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections open, by pool and state (idle or in_use)",
            pool_connections.clone(),
        );
        let pool_max = Family::<PoolLabel, Gauge>::default();
        registry.register(
            "db_pool_max_connections",
            "The most connections a database pool opens",
            pool_max.clone(),
        );
        let audit_queue = Gauge::default();
        registry.register(
            "audit_queue_depth",
            "Audit records handed to the writer and not yet taken by it",
            audit_queue.clone(),
        );
        let audit_queue_capacity = Gauge::default();
        registry.register(
            "audit_queue_capacity",
            "Records the audit queue holds before refusals are only counted",
            audit_queue_capacity.clone(),
        );
        registry.register(
            "build",
            "Writ's version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        Self {
            registry,
            tokens,
            latency,
            slots: (0..GRANTS.len() * METHODS.len() * OUTCOMES.len())
                .map(|_| OnceLock::new())
                .collect(),
            refusals,
            reasons: AtomicUsize::new(0),
            jwks_ok,
            jwks_failed,
            pool_connections,
            pool_max,
            audit_queue,
            audit_queue_capacity,
        }
    }

    /// Counts one answered token request (issued when `refused` is
    /// `None`) and, when given, its time.
    pub(crate) fn token(
        &self,
        kind: TokenKind,
        refused: Option<&OAuthError>,
        elapsed: Option<Duration>,
    ) {
        let out = usize::from(refused.is_some());
        let labels = || TokenLabels {
            grant: GRANTS.get(kind.grant).copied().unwrap_or("other"),
            method: METHODS.get(kind.method).copied().unwrap_or("other"),
            outcome: OUTCOMES[out],
        };
        match elapsed {
            Some(d) => {
                let i = (kind.grant * METHODS.len() + kind.method) * OUTCOMES.len() + out;
                if let Some(slot) = self.slots.get(i) {
                    let (count, latency) = slot.get_or_init(|| {
                        let labels = labels();
                        (
                            self.tokens.get_or_create(&labels).clone(),
                            self.latency.get_or_create(&labels).clone(),
                        )
                    });
                    count.inc();
                    latency.observe(d);
                }
            }
            // Not timed (refused before the service saw it): no histogram
            // series is made for it.
            None => {
                self.tokens.get_or_create(&labels()).inc();
            }
        }
        if let Some(e) = refused {
            self.refusal(e);
        }
    }

    fn refusal(&self, e: &OAuthError) {
        let mut labels = RefusalLabels {
            error: e.code.as_str(),
            reason: if plain_reason(e.reason) {
                e.reason
            } else {
                "other"
            },
        };
        if self.refusals.get(&labels).is_none() {
            // A new reason: counted by name while there is room.
            if self.reasons.fetch_add(1, Ordering::Relaxed) >= MAX_REASONS {
                self.reasons.fetch_sub(1, Ordering::Relaxed);
                labels.reason = "other";
            }
        }
        self.refusals.get_or_create(&labels).inc();
    }

    pub(crate) fn jwks_fetch(&self, ok: bool) {
        if ok {
            self.jwks_ok.inc();
        } else {
            self.jwks_failed.inc();
        }
    }
}

fn grant_index(grant: Option<&str>) -> usize {
    match grant {
        Some(GRANT_CLIENT_CREDENTIALS) => 0,
        Some(GRANT_TOKEN_EXCHANGE) => 1,
        None | Some("") => 2,
        Some(_) => 3,
    }
}

fn method_index(method: &str) -> usize {
    if method.is_empty() {
        return 7;
    }
    METHODS[..7]
        .iter()
        .position(|m| *m == method)
        .unwrap_or(METHODS.len() - 1)
}

/// A reason fit for a label: a short snake_case word.
fn plain_reason(r: &str) -> bool {
    (1..=48).contains(&r.len())
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A latency histogram on atomics: prometheus-client's own takes a mutex
/// on every observation, and this one is on every token.
#[derive(Clone, Debug, Default)]
struct Latency(Arc<LatencyInner>);

#[derive(Debug, Default)]
struct LatencyInner {
    /// Per bucket (not cumulative); the last is above every bound.
    buckets: [AtomicU64; LATENCY_BOUNDS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Latency {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = LATENCY_BOUNDS.partition_point(|b| *b < secs);
        if let Some(b) = self.0.buckets.get(i) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.0.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

impl TypedMetric for Latency {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Latency {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let buckets: Vec<(f64, u64)> = LATENCY_BOUNDS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(self.0.buckets.iter().map(|b| b.load(Ordering::Relaxed)))
            .collect();
        // The count is the buckets' sum, so a scrape never shows a count
        // that disagrees with them.
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = self.0.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

impl Writ {
    /// The metrics in the OpenMetrics text format ([`CONTENT_TYPE`]), with
    /// the database pools and the audit queue read now.
    pub fn render_metrics(&self) -> String {
        let m = &self.metrics;
        let pools: [(&'static str, &sea_orm::DatabaseConnection); 2] =
            [("main", &self.db), ("writer", self.audit.db())];
        for (name, db) in pools {
            // PostgreSQL's writers share the main pool.
            if name == "writer" && !is_sqlite(db) {
                continue;
            }
            if let Some(p) = pool_state(db) {
                let gauge = |state| {
                    m.pool_connections
                        .get_or_create(&PoolLabels { pool: name, state })
                };
                gauge("idle").set(p.idle);
                gauge("in_use").set(p.size - p.idle);
                m.pool_max
                    .get_or_create(&PoolLabel { pool: name })
                    .set(p.max);
            }
        }
        let (depth, capacity) = self.audit.queue();
        m.audit_queue.set(i64::try_from(depth).unwrap_or(i64::MAX));
        m.audit_queue_capacity
            .set(i64::try_from(capacity).unwrap_or(i64::MAX));
        let mut text = String::with_capacity(8 * 1024);
        if prometheus_client::encoding::text::encode(&mut text, &m.registry).is_err() {
            tracing::error!("could not encode the metrics");
        }
        text
    }
}

struct PoolState {
    size: i64,
    idle: i64,
    max: i64,
}

fn is_sqlite(db: &sea_orm::DatabaseConnection) -> bool {
    db.get_database_backend() == sea_orm::DbBackend::Sqlite
}

fn pool_state(db: &sea_orm::DatabaseConnection) -> Option<PoolState> {
    let (size, idle, max) = match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => {
            let p = db.get_sqlite_connection_pool();
            (p.size(), p.num_idle(), p.options().get_max_connections())
        }
        sea_orm::DbBackend::Postgres => {
            let p = db.get_postgres_connection_pool();
            (p.size(), p.num_idle(), p.options().get_max_connections())
        }
        _ => return None,
    };
    let idle = i64::try_from(idle).unwrap_or(i64::MAX);
    Some(PoolState {
        size: i64::from(size),
        idle: idle.min(i64::from(size)),
        max: i64::from(max),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use writ_core::OAuthErrorCode;

    fn text(m: &Metrics) -> String {
        let mut s = String::new();
        prometheus_client::encoding::text::encode(&mut s, &m.registry).unwrap();
        s
    }

    #[test]
    fn counts_by_grant_method_outcome_and_reason() {
        let m = Metrics::new();
        let post = TokenKind::new(Some(GRANT_CLIENT_CREDENTIALS), AUTH_CLIENT_SECRET_POST);
        m.token(post, None, Some(Duration::from_millis(3)));
        let basic = TokenKind::new(Some(GRANT_CLIENT_CREDENTIALS), AUTH_CLIENT_SECRET_BASIC);
        let wrong = OAuthError::invalid_client("secret_mismatch");
        for _ in 0..2 {
            m.token(basic, Some(&wrong), Some(Duration::from_secs(20)));
        }
        let t = text(&m);
        assert!(t.contains(r#"writ_token_requests_total{grant="client_credentials",method="client_secret_post",outcome="issued"} 1"#), "{t}");
        assert!(t.contains(r#"writ_token_requests_total{grant="client_credentials",method="client_secret_basic",outcome="refused"} 2"#), "{t}");
        assert!(
            t.contains(
                r#"writ_token_refusals_total{error="invalid_client",reason="secret_mismatch"} 2"#
            ),
            "{t}"
        );
        assert!(t.contains(r#"writ_token_request_duration_seconds_bucket{le="0.0025",grant="client_credentials",method="client_secret_post",outcome="issued"} 0"#), "{t}");
        assert!(t.contains(r#"writ_token_request_duration_seconds_bucket{le="0.005",grant="client_credentials",method="client_secret_post",outcome="issued"} 1"#), "{t}");
        assert!(t.contains(r#"writ_token_request_duration_seconds_bucket{le="10.0",grant="client_credentials",method="client_secret_basic",outcome="refused"} 0"#), "{t}");
        assert!(t.contains(r#"writ_token_request_duration_seconds_bucket{le="+Inf",grant="client_credentials",method="client_secret_basic",outcome="refused"} 2"#), "{t}");
        assert!(t.contains(r#"writ_token_request_duration_seconds_count{grant="client_credentials",method="client_secret_basic",outcome="refused"} 2"#), "{t}");
        assert!(
            t.contains(r#"writ_jwks_fetches_total{outcome="failed"} 0"#),
            "{t}"
        );
    }

    #[test]
    fn labels_stay_bounded_whatever_the_caller_sent() {
        let m = Metrics::new();
        let odd = OAuthError::new(OAuthErrorCode::InvalidRequest, "Not A Reason!", "");
        m.token(
            TokenKind::new(Some("urn:evil:<script>"), "made_up_method"),
            Some(&odd),
            Some(Duration::ZERO),
        );
        let unparsed = TokenKind::new(None, "");
        let too_large = OAuthError::invalid_request("body_too_large", "x");
        m.token(unparsed, Some(&too_large), None);
        let t = text(&m);
        assert!(
            t.contains(
                r#"writ_token_requests_total{grant="other",method="other",outcome="refused"} 1"#
            ),
            "{t}"
        );
        assert!(
            t.contains(
                r#"writ_token_requests_total{grant="none",method="none",outcome="refused"} 1"#
            ),
            "{t}"
        );
        assert!(t.contains(r#"reason="other""#), "{t}");
        // An untimed refusal makes no histogram series.
        assert!(!t.contains(r#"duration_seconds_count{grant="none""#), "{t}");
        assert!(!t.contains("evil") && !t.contains("made_up"), "{t}");
        // Reasons beyond the cap are counted as `other`.
        let reasons: Vec<&'static str> = (0..MAX_REASONS + 10)
            .map(|i| &*Box::leak(format!("r{i}").into_boxed_str()))
            .collect();
        for r in reasons {
            m.token(unparsed, Some(&OAuthError::invalid_request(r, "")), None);
        }
        let t = text(&m);
        let named = t
            .lines()
            .filter(|l| l.starts_with("writ_token_refusals_total{"))
            .count();
        assert!(named <= MAX_REASONS + 1, "{named}");
    }
}
