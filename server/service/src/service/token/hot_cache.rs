//! A read-through cache of what the token endpoint reads on every request:
//! a client with its enabled secrets, a resource server by audience, and a
//! client's grant on a resource server.
//!
//! Every admin write through this process clears it at once, so a disabled
//! secret or revoked grant takes effect on the next request. Entries also
//! expire after [`TTL_SECS`], which bounds staleness when several Writ
//! processes share one PostgreSQL database.
//!
//! "Not found" answers (an unknown client id, audience, credential name)
//! are cached too, but apart from the found ones, in a smaller space of
//! their own ([`MAX_NEGATIVE_ENTRIES`]) that fills and empties on its own:
//! a caller spraying made-up keys can only churn that space, never push a
//! known client out of the cache (each such key costs one indexed lookup,
//! as it would uncached).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};
use writ_core::scope::Granted;

pub const TTL_SECS: i64 = 5;
/// Found entries of one kind (bounded by what the database holds).
const MAX_ENTRIES: usize = 100_000;
/// "Not found" entries of one kind (bounded by what callers make up).
const MAX_NEGATIVE_ENTRIES: usize = 10_000;

#[derive(Debug)]
pub struct ClientAuth {
    pub pk: String,
    pub client_id: String,
    pub agent_id: Option<String>,
    pub enabled: bool,
    /// The enabled secrets.
    pub secrets: Vec<StoredSecret>,
    /// (secret id, sealed copy) of enabled secrets that allow client_secret_jwt.
    pub jwt_secrets: Vec<(String, String)>,
    /// (key id, key) of the enabled public keys.
    pub public_keys: Vec<(String, writ_core::public_key::ClientPublicKey)>,
}

/// A client secret as the token endpoint checks it.
#[derive(Debug)]
pub struct StoredSecret {
    pub id: String,
    /// argon2id PHC string.
    pub phc: String,
    /// `writ_core::secret::screen` of the value; `None` for old secrets.
    pub screen: Option<String>,
}

#[derive(Debug)]
pub struct ResourceServerInfo {
    pub id: String,
    pub audience: String,
    pub permissions: Vec<String>,
    pub token_ttl_secs: i64,
    pub custom_subject: bool,
    /// Token exchange may target it.
    pub delegation_enabled: bool,
    /// Its delegation policy, compiled once per load; `None` when off, or
    /// when the stored expression no longer compiles (logged; refused).
    pub delegation: Option<Arc<Delegation>>,
}

/// A resource server's delegation policy, ready to evaluate.
#[derive(Debug)]
pub struct Delegation {
    pub permissions: writ_core::federation::expr::Expression,
    pub max_chain_depth: i64,
}

/// A client's federated credential by name, with its provider's trust.
pub type FederatedAuth = writ_core::federation::check::LoadedCredential;

/// One kind of entry: what was found, and apart from it, what was not.
struct Map<K, V> {
    found: RwLock<HashMap<K, (i64, Arc<V>)>>,
    missing: RwLock<HashMap<K, (i64, ())>>,
}

/// Makes room for one more entry in a full map: drops expired entries,
/// and everything when that frees too little (so a map of fresh entries
/// is not scanned on every insert).
fn make_room<K, V>(m: &mut HashMap<K, (i64, V)>, cap: usize, now: i64) {
    if m.len() < cap {
        return;
    }
    m.retain(|_, (at, _)| now - *at < TTL_SECS);
    if m.len() >= cap - cap / 4 {
        m.clear();
    }
}

impl<K: Eq + Hash, V> Map<K, V> {
    fn new() -> Self {
        Self {
            found: RwLock::new(HashMap::new()),
            missing: RwLock::new(HashMap::new()),
        }
    }
    /// `Some(Some(v))` found, `Some(None)` known not to exist, `None` not cached.
    fn get<Q: Eq + Hash + ?Sized>(&self, k: &Q, now: i64) -> Option<Option<Arc<V>>>
    where
        K: std::borrow::Borrow<Q>,
    {
        let fresh = |at: i64| now - at < TTL_SECS;
        if let Ok(m) = self.found.read()
            && let Some((at, v)) = m.get(k)
            && fresh(*at)
        {
            return Some(Some(v.clone()));
        }
        let m = self.missing.read().ok()?;
        m.get(k).filter(|(at, _)| fresh(*at)).map(|_| None)
    }
    fn put(&self, k: K, v: Option<Arc<V>>, now: i64) {
        // An entry lives in one of the two maps: the newer answer wins.
        match v {
            Some(v) => {
                if let Ok(mut m) = self.missing.write() {
                    m.remove(&k);
                }
                if let Ok(mut m) = self.found.write() {
                    make_room(&mut m, MAX_ENTRIES, now);
                    m.insert(k, (now, v));
                }
            }
            None => {
                if let Ok(mut m) = self.found.write() {
                    m.remove(&k);
                }
                if let Ok(mut m) = self.missing.write() {
                    make_room(&mut m, MAX_NEGATIVE_ENTRIES, now);
                    m.insert(k, (now, ()));
                }
            }
        }
    }
    fn clear(&self) {
        if let Ok(mut m) = self.found.write() {
            m.clear();
        }
        if let Ok(mut m) = self.missing.write() {
            m.clear();
        }
    }
}

pub struct HotCache {
    clients: Map<String, ClientAuth>,
    audiences: Map<String, ResourceServerInfo>,
    grants: Map<(String, String), Granted>,
    federated: Map<(String, String), FederatedAuth>,
}

impl Default for HotCache {
    fn default() -> Self {
        Self {
            clients: Map::new(),
            audiences: Map::new(),
            grants: Map::new(),
            federated: Map::new(),
        }
    }
}

impl HotCache {
    pub fn client(&self, client_id: &str, now: i64) -> Option<Option<Arc<ClientAuth>>> {
        self.clients.get(client_id, now)
    }
    pub fn put_client(&self, client_id: &str, v: Option<Arc<ClientAuth>>, now: i64) {
        self.clients.put(client_id.to_owned(), v, now);
    }
    pub fn audience(&self, audience: &str, now: i64) -> Option<Option<Arc<ResourceServerInfo>>> {
        self.audiences.get(audience, now)
    }
    pub fn put_audience(&self, audience: &str, v: Option<Arc<ResourceServerInfo>>, now: i64) {
        self.audiences.put(audience.to_owned(), v, now);
    }
    pub fn grant(&self, rs_id: &str, client_pk: &str, now: i64) -> Option<Option<Arc<Granted>>> {
        self.grants
            .get(&(rs_id.to_owned(), client_pk.to_owned()), now)
    }
    pub fn put_grant(&self, rs_id: &str, client_pk: &str, v: Option<Arc<Granted>>, now: i64) {
        self.grants
            .put((rs_id.to_owned(), client_pk.to_owned()), v, now);
    }
    pub fn federated(
        &self,
        client_pk: &str,
        name: &str,
        now: i64,
    ) -> Option<Option<Arc<FederatedAuth>>> {
        self.federated
            .get(&(client_pk.to_owned(), name.to_owned()), now)
    }
    pub fn put_federated(
        &self,
        client_pk: &str,
        name: &str,
        v: Option<Arc<FederatedAuth>>,
        now: i64,
    ) {
        self.federated
            .put((client_pk.to_owned(), name.to_owned()), v, now);
    }
    /// Called by every admin write.
    pub fn clear(&self) {
        self.federated.clear();
        self.clients.clear();
        self.audiences.clear();
        self.grants.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_clear() {
        let c = HotCache::default();
        c.put_audience("a", None, 100);
        assert!(c.audience("a", 100).is_some());
        assert!(c.audience("a", 100 + TTL_SECS).is_none(), "expired");
        c.put_audience("a", None, 200);
        c.clear();
        assert!(c.audience("a", 200).is_none());
    }

    fn client(client_id: &str) -> Arc<ClientAuth> {
        Arc::new(ClientAuth {
            pk: format!("pk-{client_id}"),
            client_id: client_id.into(),
            agent_id: None,
            enabled: true,
            secrets: Vec::new(),
            jwt_secrets: Vec::new(),
            public_keys: Vec::new(),
        })
    }

    fn served(c: &HotCache, client_id: &str, now: i64) -> Option<Arc<ClientAuth>> {
        c.client(client_id, now).flatten()
    }

    #[test]
    fn a_spray_of_unknown_client_ids_keeps_warm_clients() {
        let c = HotCache::default();
        let warm = client("billing-bot");
        c.put_client("billing-bot", Some(warm.clone()), 100);
        for i in 0..100_000 {
            c.put_client(&format!("made-up-{i}"), None, 100);
            assert!(c.clients.missing.read().map_or(0, |m| m.len()) <= MAX_NEGATIVE_ENTRIES);
        }
        let hit = served(&c, "billing-bot", 100);
        assert!(
            hit.is_some_and(|h| Arc::ptr_eq(&h, &warm)),
            "the warm client is still served from the cache"
        );
        assert!(
            matches!(c.client("made-up-99999", 100), Some(None)),
            "the latest unknown id is still remembered as unknown"
        );
        // The same for audiences: unknown ones do not push out a known one.
        let rs = Arc::new(ResourceServerInfo {
            id: "rs-1".into(),
            audience: "urn:billing".into(),
            permissions: Vec::new(),
            token_ttl_secs: 3600,
            custom_subject: false,
            delegation_enabled: false,
            delegation: None,
        });
        c.put_audience("urn:billing", Some(rs), 100);
        for i in 0..(2 * MAX_NEGATIVE_ENTRIES) {
            c.put_audience(&format!("urn:made-up:{i}"), None, 100);
        }
        assert!(matches!(c.audience("urn:billing", 100), Some(Some(_))));
    }

    #[test]
    fn the_newer_answer_wins() {
        let c = HotCache::default();
        c.put_client("a", None, 100);
        assert!(matches!(c.client("a", 100), Some(None)));
        // Created since: found replaces "not found".
        c.put_client("a", Some(client("a")), 101);
        assert!(served(&c, "a", 101).is_some());
        // Deleted since: "not found" replaces found.
        c.put_client("a", None, 102);
        assert!(matches!(c.client("a", 102), Some(None)));
        assert!(c.client("a", 102 + TTL_SECS).is_none(), "expired");
    }

    #[test]
    fn a_full_map_drops_expired_entries_first() {
        let mut m: HashMap<u32, (i64, ())> = HashMap::new();
        for i in 0..8 {
            m.insert(i, (100, ()));
        }
        m.insert(8, (200, ()));
        make_room(&mut m, 9, 200);
        assert_eq!(m.len(), 1, "the expired entries went, the fresh one stayed");
        assert!(m.contains_key(&8));
        for i in 0..8 {
            m.insert(i, (200, ()));
        }
        make_room(&mut m, 9, 200);
        assert!(m.is_empty(), "all fresh: cleared rather than scanned again");
    }
}
