//! Budgets for failed authentication attempts, per key (a client id, a
//! source address), in bounded memory.
//!
//! Each key has a token bucket: `burst` attempts, refilled one per
//! `refill_secs`. An attempt that may run a slow check (argon2) spends a
//! token *before* the check runs, so concurrent requests cannot all slip
//! past an empty bucket; a success refunds it. When the table is full, keys
//! whose bucket has refilled are dropped (they carry no information); if
//! none has, a new key shares one overflow bucket instead of evicting
//! anyone, so a spray of made-up keys neither grows memory nor resets the
//! budgets of the keys under attack.
//!
//! Pure: the caller passes the time and holds the lock.

use std::collections::HashMap;

/// Tuning of one [`FailureBudget`].
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Attempts a fresh key may make at once.
    pub burst: u32,
    /// Seconds until one spent attempt comes back.
    pub refill_secs: i64,
    /// Keys tracked before new ones share the overflow bucket.
    pub max_keys: usize,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: u32,
    /// When `tokens` was last brought up to date (whole refills only).
    at: i64,
}

/// Token buckets keyed by string (see the module docs).
#[derive(Debug)]
pub struct FailureBudget {
    budget: Budget,
    buckets: HashMap<String, Bucket>,
    overflow: Bucket,
    /// Last time full buckets were swept out (at most once a second).
    swept_at: i64,
}

impl FailureBudget {
    pub fn new(budget: Budget) -> Self {
        let full = Bucket {
            tokens: budget.burst,
            at: 0,
        };
        Self {
            budget,
            buckets: HashMap::new(),
            overflow: full,
            swept_at: i64::MIN,
        }
    }

    fn refill(b: &mut Bucket, budget: &Budget, now: i64) {
        let step = budget.refill_secs.max(1);
        let elapsed = now.saturating_sub(b.at).max(0);
        let gained = elapsed / step;
        if gained > 0 {
            let tokens = u64::from(b.tokens).saturating_add(gained as u64);
            b.tokens = tokens.min(u64::from(budget.burst)) as u32;
            b.at = if b.tokens == budget.burst {
                now
            } else {
                b.at + gained * step
            };
        }
    }

    /// The bucket of `key`, creating it (or using the overflow bucket) when new.
    fn bucket(&mut self, key: &str, now: i64) -> &mut Bucket {
        let budget = self.budget;
        if !self.buckets.contains_key(key) && self.buckets.len() >= budget.max_keys {
            if now > self.swept_at {
                self.swept_at = now;
                self.buckets.retain(|_, b| {
                    Self::refill(b, &budget, now);
                    b.tokens < budget.burst
                });
            }
            if self.buckets.len() >= budget.max_keys {
                Self::refill(&mut self.overflow, &budget, now);
                return &mut self.overflow;
            }
        }
        let b = self.buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: budget.burst,
            at: now,
        });
        Self::refill(b, &budget, now);
        b
    }

    /// Spends one attempt for `key`; `false` (and nothing spent) when the
    /// budget is exhausted.
    pub fn try_spend(&mut self, key: &str, now: i64) -> bool {
        let b = self.bucket(key, now);
        if b.tokens == 0 {
            return false;
        }
        b.tokens -= 1;
        true
    }

    /// Gives back an attempt that turned out to be a success.
    pub fn refund(&mut self, key: &str, now: i64) {
        let burst = self.budget.burst;
        if let Some(b) = self.buckets.get_mut(key) {
            b.tokens = (b.tokens + 1).min(burst);
        } else {
            Self::refill(&mut self.overflow, &self.budget, now);
            self.overflow.tokens = (self.overflow.tokens + 1).min(burst);
        }
    }

    /// Seconds until `key` may try again (0: now).
    pub fn retry_after(&self, key: &str, now: i64) -> i64 {
        let b = self.buckets.get(key).copied().unwrap_or(self.overflow);
        if b.tokens > 0 {
            return 0;
        }
        (b.at + self.budget.refill_secs.max(1) - now).max(1)
    }

    pub fn tracked_keys(&self) -> usize {
        self.buckets.len()
    }
}

/// The part of a source address that one party controls: the address for
/// IPv4, the /64 prefix for IPv6 (one host gets a whole /64 to rotate in).
pub fn source_key(source: &str) -> String {
    match source.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        Ok(ip) => ip.to_string(),
        Err(_) => source.chars().take(64).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(max_keys: usize) -> FailureBudget {
        FailureBudget::new(Budget {
            burst: 3,
            refill_secs: 10,
            max_keys,
        })
    }

    #[test]
    fn spends_then_refuses_then_refills() {
        let mut b = budget(10);
        assert!(b.try_spend("a", 100));
        assert!(b.try_spend("a", 100));
        assert!(b.try_spend("a", 100));
        assert!(!b.try_spend("a", 100), "burst of 3 spent");
        assert_eq!(b.retry_after("a", 100), 10);
        assert!(b.try_spend("b", 100), "other keys keep their own budget");
        assert!(!b.try_spend("a", 109));
        assert!(b.try_spend("a", 110), "one attempt back after refill_secs");
        assert!(!b.try_spend("a", 110));
        assert!(b.try_spend("a", 200) && b.try_spend("a", 200) && b.try_spend("a", 200));
        assert!(!b.try_spend("a", 200), "refill stops at burst");
    }

    #[test]
    fn refund_gives_back_a_success() {
        let mut b = budget(10);
        for _ in 0..3 {
            assert!(b.try_spend("a", 0));
            b.refund("a", 0);
        }
        assert!(b.try_spend("a", 0) && b.try_spend("a", 0) && b.try_spend("a", 0));
        assert!(!b.try_spend("a", 0));
    }

    #[test]
    fn a_spray_of_keys_is_bounded_and_resets_no_one() {
        let mut b = budget(100);
        for _ in 0..3 {
            assert!(b.try_spend("victim", 0));
        }
        for i in 0..100_000 {
            let _ = b.try_spend(&format!("spray-{i}"), 0);
        }
        assert!(b.tracked_keys() <= 100);
        assert!(
            !b.try_spend("victim", 0),
            "the victim's spent budget survived the spray"
        );
        // New keys share one overflow bucket, which the spray has spent.
        assert!(!b.try_spend("newcomer", 0));
        // Once buckets refill they are swept, and newcomers get their own.
        assert!(b.try_spend("newcomer", 1000));
    }

    #[test]
    fn concurrent_spenders_cannot_exceed_the_burst() {
        use std::sync::{Arc, Mutex};
        let b = Arc::new(Mutex::new(budget(10)));
        let spent: usize = (0..8)
            .map(|_| {
                let b = b.clone();
                std::thread::spawn(move || {
                    (0..100)
                        .filter(|_| b.lock().unwrap().try_spend("k", 5))
                        .count()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(spent, 3);
    }

    #[test]
    fn source_keys() {
        assert_eq!(source_key("203.0.113.7"), "203.0.113.7");
        assert_eq!(source_key("2001:db8:1:2:aa:bb:cc:dd"), "2001:db8:1:2::/64");
        assert_eq!(source_key("2001:db8:1:2::ffff"), "2001:db8:1:2::/64");
        assert_eq!(source_key("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(source_key("not an address"), "not an address");
    }
}
