//! What a vault credential holds, by type: an API key, or a long-term
//! access key pair (AK/SK). Both are sealed whole; this module says how a
//! value is checked, written before sealing, read after opening, and shown
//! to the workload by the developer API.

use crate::names::InvalidInput;
use serde_json::{Value, json};

/// The longest API key or access key secret accepted (real ones are far
/// shorter; the bound keeps a paste of the wrong file out).
pub const MAX_SECRET: usize = 8 * 1024;
/// The longest access key ID accepted.
pub const MAX_ACCESS_KEY_ID: usize = 256;

/// A credential's value, in the clear (only between opening and answering).
#[derive(Clone, PartialEq, Eq)]
pub enum CredentialValue {
    ApiKey(String),
    AccessKey { id: String, secret: String },
}

impl std::fmt::Debug for CredentialValue {
    /// Never prints a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ApiKey(_) => f.write_str("ApiKey(…)"),
            Self::AccessKey { .. } => f.write_str("AccessKey(…)"),
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> InvalidInput {
    InvalidInput {
        field,
        message: message.into(),
    }
}

/// Trimmed, non-empty, at most `max` bytes, no control characters.
fn part(field: &'static str, label: &str, s: &str, max: usize) -> Result<String, InvalidInput> {
    let s = s.trim();
    if s.is_empty() {
        return Err(invalid(field, format!("{label} is required")));
    }
    if s.len() > max {
        return Err(invalid(field, format!("{label}: at most {max} bytes")));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid(field, format!("{label}: no control characters")));
    }
    Ok(s.to_owned())
}

impl CredentialValue {
    /// The stored `credential_type`: `api_key` or `ak_sk`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ApiKey(_) => "api_key",
            Self::AccessKey { .. } => "ak_sk",
        }
    }

    pub fn api_key(key: &str) -> Result<Self, InvalidInput> {
        part("api_key", "API Key", key, MAX_SECRET).map(Self::ApiKey)
    }

    pub fn access_key(id: &str, secret: &str) -> Result<Self, InvalidInput> {
        Ok(Self::AccessKey {
            id: part("access_key_id", "AccessKey ID", id, MAX_ACCESS_KEY_ID)?,
            secret: part("access_key_secret", "AccessKey Secret", secret, MAX_SECRET)?,
        })
    }

    /// The plaintext that is sealed: the key itself (as API keys always
    /// were), or a small JSON object for a pair.
    pub fn to_plaintext(&self) -> String {
        match self {
            Self::ApiKey(k) => k.clone(),
            Self::AccessKey { id, secret } => {
                json!({"accessKeyId": id, "accessKeySecret": secret}).to_string()
            }
        }
    }

    /// Reads an opened value back by its stored type; `None` if it does not
    /// have that type's shape (a corrupted or mislabelled record).
    pub fn from_plaintext(kind: &str, text: String) -> Option<Self> {
        match kind {
            "ak_sk" => {
                let v: Value = serde_json::from_str(&text).ok()?;
                Some(Self::AccessKey {
                    id: v.get("accessKeyId")?.as_str()?.to_owned(),
                    secret: v.get("accessKeySecret")?.as_str()?.to_owned(),
                })
            }
            _ => Some(Self::ApiKey(text)),
        }
    }

    /// `credentialContent` of the developer API's ObtainCredential: the
    /// PAM client reads `apiKeyContent.apiKey`; a pair is answered as
    /// `akSkContent {accessKeyId, accessKeySecret}`.
    pub fn content(&self) -> Value {
        match self {
            Self::ApiKey(k) => json!({"apiKeyContent": {"apiKey": k}}),
            Self::AccessKey { id, secret } => {
                json!({"akSkContent": {"accessKeyId": id, "accessKeySecret": secret}})
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_round_trips_through_its_plaintext() {
        let k = CredentialValue::api_key("  sk-live-123 ").unwrap();
        assert_eq!(k.kind(), "api_key");
        assert_eq!(k.to_plaintext(), "sk-live-123");
        assert_eq!(
            CredentialValue::from_plaintext("api_key", k.to_plaintext()),
            Some(k.clone())
        );
        assert_eq!(k.content()["apiKeyContent"]["apiKey"], "sk-live-123");

        let p = CredentialValue::access_key("LTAI5tExample", "s3cr3t\"with quotes").unwrap();
        assert_eq!(p.kind(), "ak_sk");
        let back = CredentialValue::from_plaintext("ak_sk", p.to_plaintext()).unwrap();
        assert_eq!(back, p);
        assert_eq!(p.content()["akSkContent"]["accessKeyId"], "LTAI5tExample");
        assert_eq!(
            p.content()["akSkContent"]["accessKeySecret"],
            "s3cr3t\"with quotes"
        );
        assert_eq!(
            CredentialValue::from_plaintext("ak_sk", "not json".into()),
            None
        );
    }

    #[test]
    fn bad_values_are_refused_without_echoing_them() {
        for (id, secret, field) in [
            ("", "s", "access_key_id"),
            ("id", " ", "access_key_secret"),
            ("id\n2", "s", "access_key_id"),
        ] {
            let e = CredentialValue::access_key(id, secret).unwrap_err();
            assert_eq!(e.field, field);
        }
        let long = "x".repeat(MAX_SECRET + 1);
        let e = CredentialValue::api_key(&long).unwrap_err();
        assert!(!e.message.contains("xxxx"));
        assert!(
            format!("{:?}", CredentialValue::api_key("hunter2").unwrap())
                .find("hunter2")
                .is_none()
        );
    }
}
