//! Admin API token rules: how a new token's value is drawn, which names and
//! lifetimes are accepted, and when a stored token stops being valid.
//!
//! The value is stored only as `secret::token_digest` (a keyed HMAC): with
//! 256 bits of entropy no slow hash is needed, and a digest can be looked up
//! by equality. The rules here are pure; the service layer stores and checks.

use crate::names::{DisplayName, InvalidInput};

/// Prefix that makes a leaked Writ admin token recognisable to secret
/// scanners (as `writcs_` does for client secrets).
pub const ADMIN_TOKEN_PREFIX: &str = "writat_";

/// The name the `WRIT_BOOTSTRAP_ADMIN_TOKEN` token is stored under. Tokens
/// made through the API may not take it: the bootstrap is found by it.
pub const BOOTSTRAP_NAME: &str = "bootstrap";

/// The longest lifetime a token may be given: 10 years (of 365 days).
pub const MAX_EXPIRES_IN_SECONDS: i64 = 10 * 365 * 86_400;

/// A new admin token: the prefix and 32 random bytes (256 bits), base64url.
pub fn generate() -> String {
    format!("{ADMIN_TOKEN_PREFIX}{}", crate::random::token(32))
}

/// A token's name: a display name (1–64 characters, trimmed, no control
/// characters) other than the bootstrap token's.
pub fn parse_name(s: &str) -> Result<DisplayName, InvalidInput> {
    let name = DisplayName::parse("name", s)?;
    if name.as_str().eq_ignore_ascii_case(BOOTSTRAP_NAME) {
        return Err(InvalidInput {
            field: "name",
            message: format!(
                "'{BOOTSTRAP_NAME}' is reserved for the WRIT_BOOTSTRAP_ADMIN_TOKEN token"
            ),
        });
    }
    Ok(name)
}

/// When a token made at `now` with `expires_in_seconds` expires (`None`:
/// never). The lifetime must be 1 second to [`MAX_EXPIRES_IN_SECONDS`].
pub fn expires_at(now: i64, expires_in_seconds: Option<i64>) -> Result<Option<i64>, InvalidInput> {
    match expires_in_seconds {
        None => Ok(None),
        Some(secs) if (1..=MAX_EXPIRES_IN_SECONDS).contains(&secs) => {
            Ok(Some(now.saturating_add(secs)))
        }
        Some(_) => Err(InvalidInput {
            field: "expires_in_seconds",
            message: format!(
                "must be a positive number of seconds, at most {MAX_EXPIRES_IN_SECONDS} (10 years)"
            ),
        }),
    }
}

/// Whether a token with `expires_at` is still valid at `now`: valid up to,
/// not including, the expiry second.
pub fn is_live(expires_at: Option<i64>, now: i64) -> bool {
    expires_at.is_none_or(|e| now < e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_carry_256_bits_and_the_prefix() {
        let t = generate();
        let body = t.strip_prefix(ADMIN_TOKEN_PREFIX).unwrap_or_default();
        // 32 bytes in base64url without padding: 43 characters.
        assert_eq!(body.len(), 43);
        assert_ne!(generate(), t);
    }

    #[test]
    fn names_are_display_names_but_not_the_bootstrap() {
        assert_eq!(
            parse_name("  ci deploy ").map(|n| n.into_inner()),
            Ok("ci deploy".into())
        );
        assert!(parse_name("").is_err());
        assert!(parse_name(&"x".repeat(65)).is_err());
        assert!(parse_name("Bootstrap").is_err());
    }

    #[test]
    fn lifetimes_are_positive_and_bounded() {
        assert_eq!(expires_at(100, None), Ok(None));
        assert_eq!(expires_at(100, Some(1)), Ok(Some(101)));
        assert_eq!(
            expires_at(100, Some(MAX_EXPIRES_IN_SECONDS)),
            Ok(Some(100 + MAX_EXPIRES_IN_SECONDS))
        );
        for bad in [0, -1, MAX_EXPIRES_IN_SECONDS + 1, i64::MAX] {
            assert!(expires_at(100, Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_token_is_dead_from_its_expiry_second() {
        assert!(is_live(None, i64::MAX));
        assert!(is_live(Some(101), 100));
        assert!(!is_live(Some(101), 101));
        assert!(!is_live(Some(101), 102));
    }
}
