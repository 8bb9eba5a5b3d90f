//! Client secrets (and admin passwords / tokens): generated with 256 bits of
//! entropy, shown once, stored only as argon2id hashes.
//!
//! A token endpoint that runs argon2 on every request is capped at ~100
//! requests/s per core (Hydra's published figure). [`VerifiedCache`] keeps
//! argon2 as the only thing at rest, and remembers in memory, per secret id,
//! an HMAC of the last presented value that passed argon2, under a key that
//! lives only in this process. A repeat check is one HMAC and a constant-time
//! compare; nothing new is written anywhere, and a restart forgets it all.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::RwLock;
use subtle::ConstantTimeEq;

/// Prefix that makes a leaked Writ client secret recognisable to scanners.
pub const CLIENT_SECRET_PREFIX: &str = "writcs_";

/// A new client secret: the prefix and 32 random bytes, base64url.
pub fn generate_client_secret() -> String {
    format!("{CLIENT_SECRET_PREFIX}{}", crate::random::token(32))
}

/// The argon2id PHC string for `secret`, with a fresh random salt.
pub fn hash(secret: &str) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(secret.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| HashError)
}

/// Whether `secret` matches the PHC string `phc` (constant-time inside argon2).
pub fn verify(secret: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(secret.as_bytes(), phc)
        .is_ok()
}

/// Digest of a high-entropy token (admin API tokens) under a server-side
/// key: HMAC-SHA256, hex. Such tokens need no slow hash (they cannot be
/// guessed, and without the key a stolen table cannot be tested offline),
/// and a digest can be looked up by equality, so a bogus token costs one
/// HMAC and one indexed query, never an argon2 run per stored token.
pub fn token_digest(key: &[u8; 32], token: &str) -> String {
    let mut m = <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    m.update(b"writ token digest v1\0");
    m.update(token.as_bytes());
    crate::hex::encode(&m.finalize().into_bytes())
}

/// A 32-bit screen of a client secret under the server-side digest key,
/// stored beside its argon2 hash: a presented secret whose screen differs
/// is refused after one HMAC, without argon2. Only Writ-generated secrets
/// (256 bits of entropy) get one, so the 32 bits it reveals to someone
/// holding both the table and the key leave 224 bits to guess (the list's
/// hint already shows 4 characters). argon2 stays the proof: a matching
/// screen still has to pass it.
pub fn screen(key: &[u8; 32], secret: &str) -> String {
    let mut m = <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    m.update(b"writ secret screen v1\0");
    m.update(secret.as_bytes());
    crate::hex::encode(&m.finalize().into_bytes()[..4])
}

/// Whether a presented secret whose [`screen`] is `presented` may match a
/// secret whose stored screen is `stored` (constant time). The caller
/// computes `presented` once for all of a client's secrets. A secret stored
/// before screens existed has none and may match anything: argon2 decides.
pub fn screen_matches(presented: &str, stored: Option<&str>) -> bool {
    stored.is_none_or(|s| bool::from(presented.as_bytes().ct_eq(s.as_bytes())))
}

#[derive(Debug, thiserror::Error)]
#[error("could not hash the secret")]
pub struct HashError;

type HmacSha256 = Hmac<Sha256>;

/// Remembers secrets that recently passed argon2 (see the module docs).
pub struct VerifiedCache {
    key: [u8; 32],
    entries: RwLock<HashMap<String, [u8; 32]>>,
}

impl Default for VerifiedCache {
    fn default() -> Self {
        let mut key = [0u8; 32];
        key.copy_from_slice(&crate::random::bytes(32));
        Self {
            key,
            entries: RwLock::new(HashMap::new()),
        }
    }
}

impl VerifiedCache {
    fn mac(&self, id: &str, secret: &str) -> [u8; 32] {
        // new_from_slice only fails for invalid key lengths; HMAC takes any.
        let mut m = <HmacSha256 as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        m.update(id.as_bytes());
        m.update(&[0]);
        m.update(secret.as_bytes());
        m.finalize().into_bytes().into()
    }

    /// A digest of `secret` presented for `scope` under this process's key
    /// (a key for in-memory maps that must not hold the value itself).
    pub fn digest(&self, scope: &str, secret: &str) -> [u8; 32] {
        self.mac(scope, secret)
    }

    /// Whether `secret` is the value that last passed argon2 for secret
    /// `id`: one HMAC and a constant-time compare, cheap enough to run
    /// before any throttle (a valid client is never slowed by an attacker).
    pub fn is_known(&self, id: &str, secret: &str) -> bool {
        let mac = self.mac(id, secret);
        let cached = self.entries.read().ok().and_then(|e| e.get(id).copied());
        cached.is_some_and(|known| bool::from(known.ct_eq(&mac)))
    }

    /// Records that `secret` passed argon2 for secret `id`.
    pub fn remember(&self, id: &str, secret: &str) {
        let mac = self.mac(id, secret);
        if let Ok(mut e) = self.entries.write() {
            e.insert(id.to_owned(), mac);
        }
    }

    /// Checks `secret` against the stored hash of secret `id`, using argon2
    /// (on the calling thread) only when this value has not passed before.
    pub fn verify(&self, id: &str, secret: &str, phc: &str) -> bool {
        if self.is_known(id, secret) {
            return true;
        }
        if verify(secret, phc) {
            self.remember(id, secret);
            return true;
        }
        false
    }

    /// Forgets secret `id` (on disable or delete).
    pub fn forget(&self, id: &str) {
        if let Ok(mut e) = self.entries.write() {
            e.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screen_refuses_other_secrets_and_keys() {
        let key = [7u8; 32];
        let passes =
            |k: &[u8; 32], s: &str, stored: Option<&str>| screen_matches(&screen(k, s), stored);
        let s = generate_client_secret();
        let tag = screen(&key, &s);
        assert_eq!(tag.len(), 8, "{tag}");
        assert!(passes(&key, &s, Some(&tag)));
        // A secret stored before screens existed is left to argon2.
        assert!(passes(&key, "anything", None));
        // Of 1,000 other secrets, none passes (2^-32 each), and the
        // same secret under another key has another screen.
        let others = (0..1000)
            .filter(|_| passes(&key, &generate_client_secret(), Some(&tag)))
            .count();
        assert_eq!(others, 0);
        assert!(!passes(&[8u8; 32], &s, Some(&tag)));
        assert!(!passes(&key, &s, Some("")));
    }

    #[test]
    fn hash_then_verify() {
        let s = generate_client_secret();
        assert!(s.starts_with(CLIENT_SECRET_PREFIX));
        let h = hash(&s).unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains(&s));
        assert!(verify(&s, &h));
        assert!(!verify("wrong", &h));
        assert!(!verify(&s, "not a phc string"));
    }

    #[test]
    fn cache_accepts_repeat_and_rejects_other_values() {
        let cache = VerifiedCache::default();
        let s = generate_client_secret();
        let h = hash(&s).unwrap();
        assert!(cache.verify("id1", &s, &h));
        // The repeat passes even against a hash it no longer matches, which
        // proves it did not run argon2 again.
        assert!(cache.verify("id1", &s, "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        assert!(!cache.verify("id1", "wrong", &h));
        // A cached value for one id is no good for another.
        assert!(!cache.verify("id2", &s, "garbage"));
        cache.forget("id1");
        assert!(!cache.verify("id1", &s, "garbage"));
        assert!(!cache.is_known("id1", &s));
        cache.remember("id1", &s);
        assert!(cache.is_known("id1", &s));
        assert!(!cache.is_known("id1", "wrong"));
    }

    #[test]
    fn token_digest_is_keyed_and_stable() {
        let k1 = [1u8; 32];
        let k2 = [2u8; 32];
        let d = token_digest(&k1, "writat_abc");
        assert_eq!(d.len(), 64);
        assert_eq!(d, token_digest(&k1, "writat_abc"));
        assert_ne!(d, token_digest(&k2, "writat_abc"));
        assert_ne!(d, token_digest(&k1, "writat_abd"));
    }
}
