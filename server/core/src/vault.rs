//! Sealing secrets at rest: envelope encryption with AES-256-GCM.
//!
//! Each value gets a fresh 256-bit data key; the data key is wrapped by the
//! master key; the sealed text names the master key by id, so a new master
//! key can be made primary while old ones still open what they sealed, and
//! [`Keyring::rewrap`] moves a record to the primary key without touching
//! its ciphertext. The `context` (e.g. `client_secret:<id>`) is bound as
//! associated data: a sealed value copied to another row does not open.
//!
//! Format: `wv1.<master key id>.<wrapped data key>.<nonce>.<ciphertext>`
//! (base64url parts; the wrapped key carries its own nonce).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("the master key must be 32 bytes, base64 or base64url encoded")]
    BadMasterKey,
    #[error("sealed with master key {0}, which this Writ does not have")]
    UnknownMasterKey(String),
    #[error("the sealed value is damaged or belongs elsewhere")]
    Damaged,
}

/// One master key and its public id (a hash of the key, never the key).
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    pub fn from_bytes(key: &[u8]) -> Result<Self, VaultError> {
        if key.len() != 32 {
            return Err(VaultError::BadMasterKey);
        }
        let digest = Sha256::new_with_prefix(b"writ master key id\0")
            .chain_update(key)
            .finalize();
        let id = crate::hex::encode(&digest[..8]);
        Ok(Self {
            id,
            cipher: Aes256Gcm::new_from_slice(key).map_err(|_| VaultError::BadMasterKey)?,
        })
    }

    /// From the text of `WRIT_MASTER_KEY` or a key file (base64 / base64url).
    pub fn from_text(text: &str) -> Result<Self, VaultError> {
        let t = text.trim();
        let bytes = B64
            .decode(t.trim_end_matches('='))
            .or_else(|_| base64::engine::general_purpose::STANDARD.decode(t))
            .map_err(|_| VaultError::BadMasterKey)?;
        Self::from_bytes(&bytes)
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The four parts of a sealed value.
struct Parts<'a> {
    mk: &'a str,
    wrapped: Vec<u8>,
    nonce: Vec<u8>,
    ct: Vec<u8>,
}

/// The primary master key (seals) and any older ones (still open).
#[derive(Debug, Clone)]
pub struct Keyring {
    primary: MasterKey,
    keys: HashMap<String, MasterKey>,
}

fn encrypt(cipher: &Aes256Gcm, msg: &[u8], aad: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let nonce = crate::random::bytes(12);
    // AES-GCM encryption cannot fail for inputs this size.
    #[allow(clippy::expect_used)]
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg, aad })
        .expect("AES-GCM encrypt");
    (nonce, ct)
}

impl Keyring {
    pub fn new(primary: MasterKey, older: Vec<MasterKey>) -> Self {
        let mut keys: HashMap<String, MasterKey> =
            older.into_iter().map(|k| (k.id.clone(), k)).collect();
        keys.insert(primary.id.clone(), primary.clone());
        Self { primary, keys }
    }

    pub fn primary_id(&self) -> &str {
        &self.primary.id
    }

    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        let dek = crate::random::bytes(32);
        #[allow(clippy::expect_used)]
        let data = Aes256Gcm::new_from_slice(&dek).expect("32-byte key");
        let (nonce, ct) = encrypt(&data, plaintext, context.as_bytes());
        let wrapped = self.wrap(&self.primary, &dek);
        format!(
            "wv1.{}.{}.{}.{}",
            self.primary.id,
            B64.encode(wrapped),
            B64.encode(nonce),
            B64.encode(ct)
        )
    }

    fn wrap(&self, mk: &MasterKey, dek: &[u8]) -> Vec<u8> {
        let aad = format!("writ data key\0{}", mk.id);
        let (nonce, ct) = encrypt(&mk.cipher, dek, aad.as_bytes());
        [nonce, ct].concat()
    }

    fn unwrap(&self, mk_id: &str, wrapped: &[u8]) -> Result<Vec<u8>, VaultError> {
        let mk = self
            .keys
            .get(mk_id)
            .ok_or_else(|| VaultError::UnknownMasterKey(mk_id.to_owned()))?;
        if wrapped.len() < 12 {
            return Err(VaultError::Damaged);
        }
        let aad = format!("writ data key\0{mk_id}");
        mk.cipher
            .decrypt(
                Nonce::from_slice(&wrapped[..12]),
                Payload {
                    msg: &wrapped[12..],
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Damaged)
    }

    fn parts(sealed: &str) -> Result<Parts<'_>, VaultError> {
        let mut it = sealed.split('.');
        let (Some("wv1"), Some(mk), Some(w), Some(n), Some(c), None) = (
            it.next(),
            it.next(),
            it.next(),
            it.next(),
            it.next(),
            it.next(),
        ) else {
            return Err(VaultError::Damaged);
        };
        let d = |s: &str| B64.decode(s).map_err(|_| VaultError::Damaged);
        Ok(Parts {
            mk,
            wrapped: d(w)?,
            nonce: d(n)?,
            ct: d(c)?,
        })
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, VaultError> {
        let Parts {
            mk,
            wrapped,
            nonce,
            ct,
        } = Self::parts(sealed)?;
        if nonce.len() != 12 {
            return Err(VaultError::Damaged);
        }
        let dek = self.unwrap(mk, &wrapped)?;
        let data = Aes256Gcm::new_from_slice(&dek).map_err(|_| VaultError::Damaged)?;
        data.decrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &ct,
                aad: context.as_bytes(),
            },
        )
        .map_err(|_| VaultError::Damaged)
    }

    /// The master key a sealed value names.
    pub fn sealed_with(sealed: &str) -> Option<&str> {
        Self::parts(sealed).ok().map(|p| p.mk)
    }

    /// Re-wraps the data key under the primary master key (the ciphertext
    /// is unchanged). `None` when it already is.
    pub fn rewrap(&self, sealed: &str) -> Result<Option<String>, VaultError> {
        let Parts {
            mk,
            wrapped,
            nonce,
            ct,
        } = Self::parts(sealed)?;
        if mk == self.primary.id {
            return Ok(None);
        }
        let dek = self.unwrap(mk, &wrapped)?;
        Ok(Some(format!(
            "wv1.{}.{}.{}.{}",
            self.primary.id,
            B64.encode(self.wrap(&self.primary, &dek)),
            B64.encode(nonce),
            B64.encode(ct)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::from_bytes(&crate::random::bytes(32)).unwrap()
    }

    #[test]
    fn seals_and_opens_bound_to_context() {
        let ring = Keyring::new(key(), vec![]);
        let s = ring.seal(b"sk-live-123", "credential:c1");
        assert!(!s.contains("sk-live"));
        assert_eq!(ring.open(&s, "credential:c1").unwrap(), b"sk-live-123");
        assert_eq!(ring.open(&s, "credential:c2"), Err(VaultError::Damaged));
        // Two seals of one value differ (fresh data key and nonce).
        assert_ne!(ring.seal(b"x", "c"), ring.seal(b"x", "c"));
        let mut bad = s.clone();
        bad.pop();
        bad.push(if s.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(ring.open(&bad, "credential:c1"), Err(VaultError::Damaged));
        assert!(ring.open("garbage", "c").is_err());
    }

    #[test]
    fn rotation_rewraps_without_losing_anything() {
        let (old, new) = (key(), key());
        let before = Keyring::new(old.clone(), vec![]);
        let sealed = before.seal(b"api-key", "credential:c1");
        let after = Keyring::new(new.clone(), vec![old.clone()]);
        assert_eq!(after.open(&sealed, "credential:c1").unwrap(), b"api-key");
        let moved = after.rewrap(&sealed).unwrap().unwrap();
        assert_eq!(Keyring::sealed_with(&moved), Some(new.id()));
        assert_eq!(after.rewrap(&moved).unwrap(), None);
        // Once re-wrapped, the old key is no longer needed.
        let only_new = Keyring::new(new, vec![]);
        assert_eq!(only_new.open(&moved, "credential:c1").unwrap(), b"api-key");
        assert_eq!(
            only_new.open(&sealed, "credential:c1"),
            Err(VaultError::UnknownMasterKey(old.id().to_owned()))
        );
    }

    #[test]
    fn master_keys_parse_from_text() {
        let text = crate::random::token(32);
        let a = MasterKey::from_text(&format!("{text}\n")).unwrap();
        let b = MasterKey::from_text(&text).unwrap();
        assert_eq!(a.id(), b.id());
        assert_eq!(a.id().len(), 16);
        assert!(MasterKey::from_text("c2hvcnQ").is_err());
        assert!(!format!("{a:?}").contains(&text));
    }
}
