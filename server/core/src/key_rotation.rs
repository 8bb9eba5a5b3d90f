//! Signing-key rotation: which key signs, which keys JWKS publishes, and when
//! the next key is made. Pure: the keys' times and `now` in, states out.
//!
//! A key is a row with the time it may first sign (`not_before`). Ordered by
//! (`not_before`, `kid`), the last key whose `not_before` has passed is
//! **active** and signs; keys after it are **next** (published, not yet
//! signing: relying parties that cache JWKS learn them first); a key before
//! it is **retiring** while a token it signed may still be valid (until its
//! successor's `not_before` plus the longest token lifetime and the clock
//! skew), then **retired** (no longer published; may be deleted). Every
//! replica reads the same rows, so all agree on the active key at a given
//! time without talking to each other.

use serde::Serialize;

/// The longest lifetime of any token Writ signs (`access_token_ttl_seconds`
/// is at most a day; see `names::parse_token_ttl`).
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    Next,
    Active,
    Retiring,
    Retired,
}

impl KeyState {
    /// Published in JWKS (and accepted on Writ's own bearer tokens).
    pub fn published(self) -> bool {
        self != KeyState::Retired
    }
}

/// The schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// How long a key signs before the next takes over (0: never on a
    /// schedule, only on demand).
    pub period_secs: i64,
    /// How long a new key is published before it signs.
    pub publish_lead_secs: i64,
    /// How long a superseded key stays published.
    pub retire_after_secs: i64,
}

impl RotationPolicy {
    pub const DEFAULT_PERIOD_SECS: i64 = 30 * 86_400;
    pub const DEFAULT_LEAD_SECS: i64 = 3_600;

    pub fn new(period_secs: i64, publish_lead_secs: i64, clock_skew_secs: i64) -> Self {
        Self {
            period_secs: period_secs.max(0),
            publish_lead_secs: publish_lead_secs.max(0),
            retire_after_secs: MAX_TOKEN_LIFETIME_SECS + clock_skew_secs.max(0),
        }
    }
}

/// What the schedule needs of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTimes {
    pub kid: String,
    pub not_before: i64,
}

/// A key's state now, and when it changes next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyStatus {
    pub kid: String,
    pub state: KeyState,
    /// When it signs (or signed) first.
    pub not_before: i64,
    /// When a successor took (or takes) over; `None` while none is known.
    pub superseded_at: Option<i64>,
    /// When it leaves JWKS; `None` while it has no successor.
    pub retires_at: Option<i64>,
}

/// Puts keys in signing order: by `not_before`, then `kid` (so replicas
/// that made keys at the same second still agree).
pub fn signing_order(keys: &mut [KeyTimes]) {
    keys.sort_by(|a, b| (a.not_before, &a.kid).cmp(&(b.not_before, &b.kid)));
}

/// The active key's index in keys already in [`signing_order`] (the hot
/// path: no allocation).
pub fn active_index(sorted: &[KeyTimes], now: i64) -> Option<usize> {
    if sorted.is_empty() {
        return None;
    }
    Some(
        sorted
            .iter()
            .rposition(|k| k.not_before <= now)
            .unwrap_or(0),
    )
}

/// Every key's state at `now`, in signing order (oldest first). With no key
/// whose `not_before` has passed (a clock behind the others), the earliest
/// key is active: something must sign.
pub fn states(keys: &[KeyTimes], now: i64, policy: &RotationPolicy) -> Vec<KeyStatus> {
    let mut order = keys.to_vec();
    signing_order(&mut order);
    let active = active_index(&order, now).unwrap_or(0);
    order
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let superseded_at = order.get(i + 1).map(|n| n.not_before);
            let retires_at = superseded_at.map(|s| s + policy.retire_after_secs);
            let state = if i == active {
                KeyState::Active
            } else if i > active {
                KeyState::Next
            } else if retires_at.is_some_and(|r| now < r) {
                KeyState::Retiring
            } else {
                KeyState::Retired
            };
            KeyStatus {
                kid: k.kid.clone(),
                state,
                not_before: k.not_before,
                superseded_at,
                retires_at,
            }
        })
        .collect()
}

/// The key that signs at `now`.
pub fn active(keys: &[KeyTimes], now: i64, policy: &RotationPolicy) -> Option<String> {
    states(keys, now, policy)
        .into_iter()
        .find(|s| s.state == KeyState::Active)
        .map(|s| s.kid)
}

/// When the schedule wants a new key made, the `not_before` to give it:
/// when no next key exists and the active key's period ends within the
/// publish lead. `None`: nothing to do now.
pub fn due(keys: &[KeyTimes], now: i64, policy: &RotationPolicy) -> Option<i64> {
    if policy.period_secs == 0 {
        return None;
    }
    let st = states(keys, now, policy);
    if st.iter().any(|s| s.state == KeyState::Next) {
        return None;
    }
    let active = st.iter().find(|s| s.state == KeyState::Active)?;
    let ends = active.not_before.saturating_add(policy.period_secs);
    (ends - policy.publish_lead_secs <= now).then(|| ends.max(now + policy.publish_lead_secs))
}

/// The next time any key's state changes or a rotation falls due (after
/// `now`): a replica refreshes its keys then, not only on a timer.
pub fn next_change(keys: &[KeyTimes], now: i64, policy: &RotationPolicy) -> Option<i64> {
    let st = states(keys, now, policy);
    let has_next = st.iter().any(|s| s.state == KeyState::Next);
    let mut times: Vec<i64> = Vec::new();
    for s in &st {
        times.push(s.not_before);
        if let Some(r) = s.retires_at {
            times.push(r);
        }
        if s.state == KeyState::Active && !has_next && policy.period_secs > 0 {
            times.push(
                s.not_before
                    .saturating_add(policy.period_secs)
                    .saturating_sub(policy.publish_lead_secs),
            );
        }
    }
    times.into_iter().filter(|t| *t > now).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(kid: &str, nb: i64) -> KeyTimes {
        KeyTimes {
            kid: kid.into(),
            not_before: nb,
        }
    }
    const P: RotationPolicy = RotationPolicy {
        period_secs: 1000,
        publish_lead_secs: 100,
        retire_after_secs: 500,
    };

    fn state_of(keys: &[KeyTimes], now: i64) -> Vec<(String, KeyState)> {
        states(keys, now, &P)
            .into_iter()
            .map(|s| (s.kid, s.state))
            .collect()
    }

    #[test]
    fn one_key_is_active_even_before_its_time() {
        assert_eq!(active(&[k("a", 50)], 10, &P).as_deref(), Some("a"));
        assert_eq!(active(&[], 10, &P), None);
    }

    #[test]
    fn a_new_key_is_next_then_active_and_the_old_one_retires_then_leaves() {
        let keys = [k("b", 1000), k("a", 0)];
        use KeyState::*;
        assert_eq!(
            state_of(&keys, 950),
            vec![("a".into(), Active), ("b".into(), Next)]
        );
        assert_eq!(
            state_of(&keys, 1000),
            vec![("a".into(), Retiring), ("b".into(), Active)]
        );
        assert_eq!(
            state_of(&keys, 1499),
            vec![("a".into(), Retiring), ("b".into(), Active)]
        );
        assert_eq!(
            state_of(&keys, 1500),
            vec![("a".into(), Retired), ("b".into(), Active)]
        );
        let st = states(&keys, 1200, &P);
        assert_eq!(st[0].superseded_at, Some(1000));
        assert_eq!(st[0].retires_at, Some(1500));
        assert_eq!(st[1].retires_at, None);
    }

    #[test]
    fn equal_times_are_ordered_by_kid_on_every_replica() {
        // Two replicas that bootstrapped at once: both pick the same signer.
        let one = [k("x", 0), k("y", 0)];
        let two = [k("y", 0), k("x", 0)];
        assert_eq!(active(&one, 5, &P), active(&two, 5, &P));
        assert_eq!(active(&one, 5, &P).as_deref(), Some("y"));
        // The other stays published for the retire window.
        assert_eq!(state_of(&one, 5)[0].1, KeyState::Retiring);
    }

    #[test]
    fn rotation_falls_due_a_lead_before_the_period_ends() {
        let keys = [k("a", 0)];
        assert_eq!(due(&keys, 899, &P), None);
        assert_eq!(due(&keys, 900, &P), Some(1000));
        // Late (a replica was down): the new key still gets its full lead.
        assert_eq!(due(&keys, 5000, &P), Some(5100));
        // Once a next key exists, nothing more is due.
        assert_eq!(due(&[k("a", 0), k("b", 1000)], 950, &P), None);
        let never = RotationPolicy {
            period_secs: 0,
            ..P
        };
        assert_eq!(due(&keys, 1_000_000, &never), None);
    }

    #[test]
    fn the_next_change_is_the_earliest_future_event() {
        let keys = [k("a", 0), k("b", 1000)];
        assert_eq!(next_change(&keys, 10, &P), Some(1000));
        // After b activates: a retires at 1500, b's rotation is due at 1900.
        assert_eq!(next_change(&keys, 1000, &P), Some(1500));
        assert_eq!(next_change(&keys, 1500, &P), Some(1900));
    }

    #[test]
    fn published_means_not_retired() {
        assert!(KeyState::Next.published());
        assert!(KeyState::Active.published());
        assert!(KeyState::Retiring.published());
        assert!(!KeyState::Retired.published());
    }
}
