//! Failed client authentications, throttled per client and per source
//! address before any slow check runs (see core's `throttle` module for the
//! budgets). A secret that passed before is recognised by the verified
//! cache first and never reaches this, so an attacker spending a client's
//! budget does not lock out the real client that is already running.

use std::sync::Mutex;
use writ_core::throttle::{Budget, FailureBudget, source_key};

/// A client may have 20 uncached checks at once, then one per 3 s.
const BY_CLIENT: Budget = Budget {
    burst: 20,
    refill_secs: 3,
    max_keys: 10_000,
};
/// A source address (IPv6: its /64) may have 30, then one per 2 s.
const BY_SOURCE: Budget = Budget {
    burst: 30,
    refill_secs: 2,
    max_keys: 10_000,
};

pub(crate) struct AuthThrottle {
    by_client: Mutex<FailureBudget>,
    by_source: Mutex<FailureBudget>,
}

impl Default for AuthThrottle {
    fn default() -> Self {
        Self {
            by_client: Mutex::new(FailureBudget::new(BY_CLIENT)),
            by_source: Mutex::new(FailureBudget::new(BY_SOURCE)),
        }
    }
}

impl AuthThrottle {
    /// Spends one attempt from both the client's and the source's budget,
    /// or from neither (and answers `false`) when either is exhausted.
    pub(crate) fn try_spend(&self, client_id: &str, source: &str, now: i64) -> bool {
        let source = source_key(source);
        let (Ok(mut c), Ok(mut s)) = (self.by_client.lock(), self.by_source.lock()) else {
            return false;
        };
        if !c.try_spend(client_id, now) {
            return false;
        }
        if !s.try_spend(&source, now) {
            c.refund(client_id, now);
            return false;
        }
        true
    }

    /// Gives the attempt back: it succeeded, or it never ran.
    pub(crate) fn refund(&self, client_id: &str, source: &str, now: i64) {
        let source = source_key(source);
        if let (Ok(mut c), Ok(mut s)) = (self.by_client.lock(), self.by_source.lock()) {
            c.refund(client_id, now);
            s.refund(&source, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_budget_stops_the_attempt_and_spends_nothing_from_the_other() {
        let t = AuthThrottle::default();
        // One client from many sources: the client's budget runs out.
        for i in 0..BY_CLIENT.burst {
            assert!(t.try_spend("c1", &format!("10.0.0.{i}"), 0));
        }
        assert!(!t.try_spend("c1", "10.0.1.1", 0));
        // That refusal spent nothing from 10.0.1.1's budget.
        for i in 0..BY_SOURCE.burst {
            assert!(t.try_spend(&format!("other-{i}"), "10.0.1.1", 0));
        }
        assert!(!t.try_spend("fresh", "10.0.1.1", 0), "source budget spent");
        assert!(t.try_spend("fresh", "10.0.1.2", 0));
        // Refunds restore both.
        t.refund("c1", "10.0.1.1", 0);
        assert!(t.try_spend("c1", "10.0.1.1", 0));
    }
}
