//! The admin change log's one rule: a before/after snapshot never holds a
//! secret. Snapshots are made from the views the API already answers with
//! (which leave secrets out), and every one passes through [`redact`] before
//! it is stored, so a field added to a view later cannot leak a secret into
//! the log unnoticed.
//!
//! What is redacted, at any depth:
//! - a field whose name says it holds a secret (`secret`, `password`,
//!   `hash`, `digest`, `sealed`, `private`, `api_key`, `…token`, `…_jwt`,
//!   assertions, key material…), unless its value is a boolean, a number or null (a
//!   flag such as `allow_client_secret_jwt` carries nothing to hide);
//! - the private parameters of a JWK (`d`, `p`, `q`, `dp`, `dq`, `qi`,
//!   `oth`, and `k` of a symmetric key) in an object with a `kty`;
//! - any string that is a secret by its shape wherever it appears: a PEM
//!   private key, a Writ client secret (`writcs_…`) or admin token
//!   (`writat_…`), a JWT.

use serde_json::Value;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Parts of field names that mark a secret (compared in lower case, with
/// `-` read as `_`).
const SECRET_NAME_PARTS: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "hash",
    "digest",
    "sealed",
    "private",
    "api_key",
    "apikey",
    "assertion",
    "signing_key",
    "master_key",
    "verifier",
    "screen",
    "ciphertext",
    "plaintext",
];

/// Endings of field names that mark a secret (`access_token`, `sealed_jwt`).
const SECRET_NAME_ENDINGS: &[&str] = &["token", "_jwt", "key_pem", "pem_key"];
/// Whole field names that mark a secret.
const SECRET_NAMES: &[&str] = &["jwt"];

/// A JWK's private (or symmetric) parameters (RFC 7518 §6).
const JWK_PRIVATE: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// `v` with every secret replaced by [`REDACTED`] (see the module docs).
pub fn redact(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let is_jwk = map.contains_key("kty");
            Value::Object(
                map.into_iter()
                    .map(|(k, v)| {
                        let hide = match &v {
                            Value::Bool(_) | Value::Number(_) | Value::Null => false,
                            _ => secret_name(&k) || (is_jwk && JWK_PRIVATE.contains(&k.as_str())),
                        };
                        let v = if hide {
                            Value::String(REDACTED.into())
                        } else {
                            redact(v)
                        };
                        (k, v)
                    })
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        Value::String(s) if secret_shape(&s) => Value::String(REDACTED.into()),
        other => other,
    }
}

/// Whether a field's name says it holds a secret.
pub fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace('-', "_");
    SECRET_NAMES.contains(&n.as_str())
        || SECRET_NAME_ENDINGS.iter().any(|e| n.ends_with(e))
        || SECRET_NAME_PARTS.iter().any(|p| n.contains(p))
}

/// Whether a string is a secret by its shape, whatever field holds it.
fn secret_shape(s: &str) -> bool {
    let t = s.trim();
    t.contains("PRIVATE KEY-----")
        || t.contains(crate::secret::CLIENT_SECRET_PREFIX)
        || t.contains(crate::admin_token::ADMIN_TOKEN_PREFIX)
        || looks_like_jwt(t)
}

/// Three base64url segments, the first a JSON object (`eyJ`).
fn looks_like_jwt(s: &str) -> bool {
    s.starts_with("eyJ")
        && s.split('.').count() == 3
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'='))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_fields_go_at_any_depth_and_the_rest_stays() {
        let v = redact(json!({
            "id": "abc",
            "name": "billing agent",
            "hint": "Ab3d",
            "enabled": true,
            "created_at": 1_700_000_000,
            "client_secret": "anything at all",
            "secret_hash": "$argon2id$v=19$...",
            "Sealed-Value": "v1.kid.nonce.ct",
            "token_digest": "hmac-sha256-v1:ff00",
            "password": ["a", "b"],
            "nested": {"clientSecret": {"x": 1}, "permissions": ["read", "write"]},
            "list": [{"private_key": "k"}, {"audience": "https://api.example"}],
        }));
        assert_eq!(
            v,
            json!({
                "id": "abc",
                "name": "billing agent",
                "hint": "Ab3d",
                "enabled": true,
                "created_at": 1_700_000_000,
                "client_secret": REDACTED,
                "secret_hash": REDACTED,
                "Sealed-Value": REDACTED,
                "token_digest": REDACTED,
                "password": REDACTED,
                "nested": {"clientSecret": REDACTED, "permissions": ["read", "write"]},
                "list": [{"private_key": REDACTED}, {"audience": "https://api.example"}],
            })
        );
    }

    #[test]
    fn flags_and_numbers_under_secret_names_carry_nothing_and_stay() {
        let v = redact(json!({
            "allow_client_secret_jwt": true,
            "secret_count": 2,
            "api_key": null,
            "token": "writat_abc",
        }));
        assert_eq!(
            v,
            json!({
                "allow_client_secret_jwt": true,
                "secret_count": 2,
                "api_key": null,
                "token": REDACTED,
            })
        );
    }

    #[test]
    fn a_jwk_keeps_its_public_half_only() {
        let v = redact(json!({
            "public_jwk": {"kty": "EC", "crv": "P-256", "x": "xx", "y": "yy", "d": "dd", "kid": "k1"},
            "oct": {"kty": "oct", "k": "c2VjcmV0"},
            "rsa": {"kty": "RSA", "n": "nn", "e": "AQAB", "p": "pp", "q": "qq", "dp": "1", "dq": "2", "qi": "3"},
            // Not a JWK: a field named `d` elsewhere is kept.
            "point": {"d": "4"},
        }));
        assert_eq!(
            v,
            json!({
                "public_jwk": {"kty": "EC", "crv": "P-256", "x": "xx", "y": "yy", "d": REDACTED, "kid": "k1"},
                "oct": {"kty": "oct", "k": REDACTED},
                "rsa": {"kty": "RSA", "n": "nn", "e": "AQAB", "p": REDACTED, "q": REDACTED, "dp": REDACTED, "dq": REDACTED, "qi": REDACTED},
                "point": {"d": "4"},
            })
        );
    }

    #[test]
    fn secrets_are_caught_by_their_shape_in_any_field() {
        let secret = crate::secret::generate_client_secret();
        let token = crate::admin_token::generate();
        let jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
        let pem = "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n";
        let v = redact(json!({
            "description": secret,
            "notes": [format!("leaked {token} here"), jwt, pem],
            "certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "issuer": "https://issuer.example",
        }));
        let text = v.to_string();
        assert!(!text.contains(&secret) && !text.contains(&token), "{text}");
        assert!(
            !text.contains(jwt) && !text.contains("PRIVATE KEY"),
            "{text}"
        );
        // A certificate and a URL are public.
        assert!(text.contains("BEGIN CERTIFICATE") && text.contains("issuer.example"));
        assert_eq!(v["description"], REDACTED);
    }

    #[test]
    fn names_that_mark_secrets() {
        for n in [
            "client_secret",
            "access_key_secret",
            "secret_hash",
            "password_hash",
            "sealed_key",
            "sealed_jwt",
            "private_key",
            "api_key",
            "apiKey",
            "refresh_token",
            "token",
            "screen",
            "code-verifier",
        ] {
            assert!(secret_name(n), "{n}");
        }
        for n in [
            "id",
            "name",
            "hint",
            "kid",
            "client_id",
            "audience",
            "token_endpoint",
            "access_token_ttl_seconds",
            "public_jwk",
            "permissions",
            "description",
        ] {
            assert!(!secret_name(n), "{n}");
        }
    }
}
