//! Validated inputs. Each newtype's `parse` is the only way to make one, so a
//! value that reached the store has passed its rules.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidInput {
    pub field: &'static str,
    pub message: String,
}

/// At most `max_chars` characters of text someone else chose, without
/// control characters: for what is echoed, logged or stored as given (audit
/// fields, a third party's error). A NUL cannot be stored in PostgreSQL text,
/// and other controls have no place in logs or HTML.
pub fn printable_prefix(s: &str, max_chars: usize) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(max_chars)
        .collect()
}

fn invalid(field: &'static str, message: impl Into<String>) -> InvalidInput {
    InvalidInput {
        field,
        message: message.into(),
    }
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_inner(self) -> String {
                self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// A display name: 1–64 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);
string_newtype!(DisplayName);

impl DisplayName {
    pub fn parse(field: &'static str, s: &str) -> Result<Self, InvalidInput> {
        let s = s.trim();
        if s.is_empty() {
            return Err(invalid(field, "is required"));
        }
        if s.chars().count() > 64 {
            return Err(invalid(field, "must be at most 64 characters"));
        }
        if s.chars().any(char::is_control) {
            return Err(invalid(field, "must not contain control characters"));
        }
        Ok(Self(s.to_owned()))
    }
}

/// A free-text description of at most 128 characters (may be empty).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Description(String);
string_newtype!(Description);

impl Description {
    pub const MAX_CHARS: usize = 128;
    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        let s = s.trim();
        if s.chars().count() > Self::MAX_CHARS {
            return Err(invalid(
                "description",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if s.chars().any(|c| c.is_control() && c != '\n') {
            return Err(invalid(
                "description",
                "must not contain control characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// A resource server's audience identifier: printable, no spaces, no `|`
/// (the scope syntax `audience|permission` reserves it), at most 256 chars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience(String);
string_newtype!(Audience);

impl Audience {
    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        let s = s.trim();
        if s.is_empty() {
            return Err(invalid("audience", "is required"));
        }
        if s.len() > 256 {
            return Err(invalid("audience", "must be at most 256 characters"));
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '|')
        {
            return Err(invalid("audience", "must not contain spaces or '|'"));
        }
        Ok(Self(s.to_owned()))
    }
}

/// A permission (scope value) of a resource server: `[A-Za-z0-9_:.\-/]`, 1–128
/// chars, and not `.all`, which means "every permission" in a request.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Permission(String);
string_newtype!(Permission);

impl Permission {
    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        let s = s.trim();
        if s.is_empty() || s.len() > 128 {
            return Err(invalid(
                "permissions",
                "each permission must be 1–128 characters",
            ));
        }
        if s == ".all" {
            return Err(invalid(
                "permissions",
                "'.all' is reserved: it means every permission",
            ));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_:.-/".contains(c))
        {
            return Err(invalid(
                "permissions",
                format!("'{s}' may only use letters, digits and _ : . - /"),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// Parses a list, dropping duplicates and keeping the given order.
    pub fn parse_list<S: AsRef<str>>(items: &[S]) -> Result<Vec<Self>, InvalidInput> {
        let mut out: Vec<Self> = Vec::new();
        for item in items {
            let p = Self::parse(item.as_ref())?;
            if !out.contains(&p) {
                out.push(p);
            }
        }
        Ok(out)
    }
}

/// Access-token lifetime in seconds: 5 minutes to 1 day.
pub fn parse_token_ttl(secs: i64) -> Result<i64, InvalidInput> {
    if !(300..=86_400).contains(&secs) {
        return Err(invalid(
            "access_token_ttl_seconds",
            "must be between 300 and 86400 seconds",
        ));
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_prefix_drops_controls_and_bounds() {
        assert_eq!(printable_prefix("ab\0c\n\u{7f}d", 3), "abc");
        assert_eq!(printable_prefix("héllo", 10), "héllo");
    }

    #[test]
    fn display_name_trims_and_bounds() {
        assert_eq!(
            DisplayName::parse("name", "  bot ").map(|n| n.into_inner()),
            Ok("bot".into())
        );
        assert!(DisplayName::parse("name", "   ").is_err());
        assert!(DisplayName::parse("name", &"x".repeat(65)).is_err());
        assert!(DisplayName::parse("name", "a\u{0}b").is_err());
    }

    #[test]
    fn description_counts_characters_not_bytes() {
        assert!(Description::parse(&"é".repeat(128)).is_ok());
        let err = Description::parse(&"é".repeat(129)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "description: must be at most 128 characters"
        );
        assert_eq!(
            Description::parse("").map(|d| d.into_inner()),
            Ok(String::new())
        );
    }

    #[test]
    fn audience_rejects_scope_separator_and_spaces() {
        assert!(Audience::parse("https://api.example.com").is_ok());
        assert!(Audience::parse("a|b").is_err());
        assert!(Audience::parse("a b").is_err());
        assert!(Audience::parse("").is_err());
    }

    #[test]
    fn permissions_dedupe_and_reject_all() {
        let l = Permission::parse_list(&["read", "write", "read"]).unwrap_or_default();
        assert_eq!(l.len(), 2);
        assert!(Permission::parse(".all").is_err());
        assert!(Permission::parse("read write").is_err());
        assert!(Permission::parse("cloud_account:obtain_access_credential").is_ok());
    }

    #[test]
    fn ttl_bounds() {
        assert!(parse_token_ttl(3600).is_ok());
        assert!(parse_token_ttl(10).is_err());
        assert!(parse_token_ttl(100_000).is_err());
    }
}
