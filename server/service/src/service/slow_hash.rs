//! argon2 off the async workers. Every slow hash (client secrets on a cache
//! miss, admin passwords) runs here: on at most `workers` blocking threads
//! at once (half the cores, at least one), with at most `max_waiting`
//! callers queued behind them. A caller past that is refused at once
//! ([`Busy`]), so a flood of wrong secrets costs a bounded share of the
//! CPU and a bounded amount of memory, while token issuance, JWKS and the
//! console keep the other cores and the async workers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::sync::Semaphore;

/// The pool is full; nothing ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

pub struct SlowHashPool {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// Jobs started since start (a metric, and what tests count).
    runs: AtomicU64,
}

/// Counts a caller as waiting until it gets a thread or gives up (a
/// dropped request future must not leave the count high).
struct Waiting<'a>(&'a AtomicUsize);
impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Default for SlowHashPool {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new((cores / 2).max(1), 32)
    }
}

impl SlowHashPool {
    pub fn new(workers: usize, max_waiting: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(workers.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
            runs: AtomicU64::new(0),
        }
    }

    /// Runs `f` on a blocking thread of the pool, or refuses at once when
    /// `max_waiting` callers already wait. Once started, `f` runs to the end
    /// (and keeps its thread) even if the caller goes away.
    pub async fn run<T, F>(&self, f: F) -> Result<T, Busy>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy);
        }
        let waiting = Waiting(&self.waiting);
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Busy)?;
        drop(waiting);
        self.runs.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f()
        })
        .await
        .map_err(|_| Busy)
    }

    /// Slow hashes run since start.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Verifies `secret` against each PHC string; the index of the first
    /// match. One pool slot for all of a client's secrets.
    pub async fn verify_any(
        &self,
        secret: &str,
        hashes: Vec<String>,
    ) -> Result<Option<usize>, Busy> {
        let secret = secret.to_owned();
        self.run(move || {
            hashes
                .iter()
                .position(|h| writ_core::secret::verify(&secret, h))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_workers_run_and_the_queue_is_bounded() {
        let pool = Arc::new(SlowHashPool::new(1, 2));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (pool, running, peak) = (pool.clone(), running.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                pool.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(50));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        let mut ok = 0;
        let mut busy = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => ok += 1,
                Err(Busy) => busy += 1,
            }
        }
        assert_eq!(peak.load(Ordering::SeqCst), 1, "one worker at a time");
        assert!(ok <= 3, "one running + two waiting at most, got {ok}");
        assert!(busy >= 7, "the rest refused at once, got {busy}");
        // The queue drains: the pool serves again afterwards.
        assert_eq!(pool.run(|| 7).await, Ok(7));
    }

    #[tokio::test]
    async fn a_dropped_waiter_frees_its_place() {
        let pool = Arc::new(SlowHashPool::new(1, 1));
        let hold = {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(|| std::thread::sleep(Duration::from_millis(200)))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        // Waits behind `hold`; dropped by the timeout.
        let waiter = tokio::time::timeout(Duration::from_millis(20), pool.run(|| ())).await;
        assert!(waiter.is_err());
        assert_eq!(pool.waiting.load(Ordering::SeqCst), 0);
        hold.await.unwrap().unwrap();
        assert_eq!(pool.run(|| 1).await, Ok(1));
    }

    #[tokio::test]
    async fn verify_any_finds_the_matching_hash() {
        let pool = SlowHashPool::new(1, 4);
        let a = writ_core::secret::hash("alpha").unwrap();
        let b = writ_core::secret::hash("beta").unwrap();
        assert_eq!(
            pool.verify_any("beta", vec![a.clone(), b.clone()]).await,
            Ok(Some(1))
        );
        assert_eq!(pool.verify_any("gamma", vec![a, b]).await, Ok(None));
    }
}
