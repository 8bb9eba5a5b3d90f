//! A read-through cache of what the token endpoint reads on every request:
//! a client with its enabled secrets, a resource server by audience, and a
//! client's grant on a resource server.
//!
//! Every admin write through this process clears it at once, so a disabled
//! secret or revoked grant takes effect on the next request. Entries also
//! expire after [`TTL_SECS`], which bounds staleness when several Writ
//! processes share one PostgreSQL database.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};
use writ_core::scope::Granted;

pub const TTL_SECS: i64 = 5;
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug)]
pub struct ClientAuth {
    pub pk: String,
    pub client_id: String,
    pub agent_id: Option<String>,
    pub enabled: bool,
    /// (secret id, argon2 PHC) of the enabled secrets.
    pub secrets: Vec<(String, String)>,
    /// (secret id, sealed copy) of enabled secrets that allow client_secret_jwt.
    pub jwt_secrets: Vec<(String, String)>,
    /// (key id, key) of the enabled public keys.
    pub public_keys: Vec<(String, writ_core::public_key::ClientPublicKey)>,
}

#[derive(Debug)]
pub struct ResourceServerInfo {
    pub id: String,
    pub audience: String,
    pub permissions: Vec<String>,
    pub token_ttl_secs: i64,
    pub custom_subject: bool,
}

/// A client's federated credential by name, with its provider's trust.
pub type FederatedAuth = writ_core::federation::check::LoadedCredential;

struct Map<K, V>(RwLock<HashMap<K, (i64, V)>>);

impl<K: Eq + Hash, V: Clone> Map<K, V> {
    fn new() -> Self {
        Self(RwLock::new(HashMap::new()))
    }
    fn get<Q: Eq + Hash + ?Sized>(&self, k: &Q, now: i64) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
    {
        let m = self.0.read().ok()?;
        m.get(k)
            .filter(|(at, _)| now - at < TTL_SECS)
            .map(|(_, v)| v.clone())
    }
    fn put(&self, k: K, v: V, now: i64) {
        if let Ok(mut m) = self.0.write() {
            if m.len() >= MAX_ENTRIES {
                m.clear();
            }
            m.insert(k, (now, v));
        }
    }
    fn clear(&self) {
        if let Ok(mut m) = self.0.write() {
            m.clear();
        }
    }
}

pub struct HotCache {
    clients: Map<String, Option<Arc<ClientAuth>>>,
    audiences: Map<String, Option<Arc<ResourceServerInfo>>>,
    grants: Map<(String, String), Option<Arc<Granted>>>,
    federated: Map<(String, String), Option<Arc<FederatedAuth>>>,
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
}
