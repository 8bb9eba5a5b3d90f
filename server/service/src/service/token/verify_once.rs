//! One argon2 run per presented secret at a time: concurrent requests that
//! present the same value (a client's workers reconnecting after a restart)
//! wait for the first one's verdict, instead of each spending the failure
//! budget and a slot of the slow-hash pool (which refused the late ones).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

type Gate = Arc<tokio::sync::Mutex<()>>;

/// Gates keyed by a digest of (client, presented value). An entry lives
/// only while a request holds or waits for it, so the map is bounded by
/// the requests in flight.
#[derive(Default)]
pub struct VerifyOnce {
    gates: Mutex<HashMap<[u8; 32], Gate>>,
}

/// This request's turn for a key; the next waiting request goes when it drops.
pub struct Turn<'a> {
    owner: &'a VerifyOnce,
    key: [u8; 32],
    gate: Gate,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl VerifyOnce {
    fn gates(&self) -> MutexGuard<'_, HashMap<[u8; 32], Gate>> {
        // A panic elsewhere cannot leave the map inconsistent: use it as is.
        self.gates.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until no other request is verifying this key.
    pub async fn turn(&self, key: [u8; 32]) -> Turn<'_> {
        let gate = self.gates().entry(key).or_default().clone();
        let guard = gate.clone().lock_owned().await;
        Turn {
            owner: self,
            key,
            gate,
            guard: Some(guard),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.gates().len()
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.guard.take();
        let mut gates = self.owner.gates();
        // Only the map and this turn hold the gate: nobody waits; forget it.
        if Arc::strong_count(&self.gate) <= 2 {
            gates.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_key_goes_one_at_a_time_and_the_map_empties() {
        let once = Arc::new(VerifyOnce::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (once, inside, most) = (once.clone(), inside.clone(), most.clone());
                tokio::spawn(async move {
                    let _t = once.turn([7; 32]).await;
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        assert_eq!(once.len(), 0);
    }

    #[tokio::test]
    async fn other_keys_do_not_wait() {
        let once = VerifyOnce::default();
        let a = once.turn([1; 32]).await;
        let b = tokio::time::timeout(Duration::from_secs(1), once.turn([2; 32])).await;
        assert!(b.is_ok(), "another key went at once");
        drop(b);
        drop(a);
        assert_eq!(once.len(), 0);
    }
}
