//! The audit searches' rules: which filters a query may carry, their
//! limits, and the paging. A query arrives as text (`writ_types::AuditQuery`,
//! `AdminAuditQuery`); `parse` is the only way to a filter, so a bad value is
//! refused with a message naming the field before any query runs.
//!
//! Paging is by keyset over the row id, newest first: a page holds rows
//! with `id < cursor` (the previous page's last row), so rows written while
//! someone pages never shift a page, nothing repeats and nothing is skipped.

use crate::audit::Outcome;
use crate::names::InvalidInput;
use writ_types::{AdminAuditQuery, AuditQuery};

/// Rows per page when `limit` is not given.
pub const DEFAULT_PAGE: u64 = 50;
/// Most rows per page.
pub const MAX_PAGE: u64 = 500;
/// Most rows one export holds (and its default).
pub const MAX_EXPORT: u64 = 1_000_000;

/// How many rows a query may ask for, and how many it gets by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub default: u64,
    pub max: u64,
}

impl Limits {
    /// A page of the search.
    pub const PAGE: Self = Self {
        default: DEFAULT_PAGE,
        max: MAX_PAGE,
    };
    /// A whole export.
    pub const EXPORT: Self = Self {
        default: MAX_EXPORT,
        max: MAX_EXPORT,
    };
}

/// Where a page starts and how long it is, and the time window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Rows at or after (unix seconds).
    pub since: Option<i64>,
    /// Rows at or before (unix seconds).
    pub until: Option<i64>,
    /// Rows asked for (within [`Limits`]).
    pub limit: u64,
    /// Only rows whose id is below this (the previous page's last row).
    pub cursor: Option<i64>,
}

/// A checked token audit query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFilter {
    pub client_id: Option<String>,
    pub method: Option<String>,
    pub outcome: Option<Outcome>,
    pub reason: Option<String>,
    pub source: Option<String>,
    pub window: Window,
}

impl AuditFilter {
    /// Checks every field; the text filters' limits are the columns' sizes.
    pub fn parse(q: &AuditQuery, limits: Limits) -> Result<Self, InvalidInput> {
        let outcome = match text("outcome", q.outcome.as_deref(), 16)?.as_deref() {
            None => None,
            Some("issued") => Some(Outcome::Issued),
            Some("refused") => Some(Outcome::Refused),
            Some(_) => return Err(invalid("outcome", "must be issued or refused")),
        };
        Ok(Self {
            client_id: text("client_id", q.client_id.as_deref(), 128)?,
            method: text("method", q.method.as_deref(), 64)?,
            outcome,
            reason: text("reason", q.reason.as_deref(), 64)?,
            source: text("source", q.source.as_deref(), 64)?,
            window: window(
                q.since.as_deref(),
                q.until.as_deref(),
                q.limit.as_deref(),
                q.cursor.as_deref(),
                limits,
            )?,
        })
    }
}

/// A checked admin change log query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminAuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub window: Window,
}

impl AdminAuditFilter {
    pub fn parse(q: &AdminAuditQuery) -> Result<Self, InvalidInput> {
        Ok(Self {
            actor: text("actor", q.actor.as_deref(), 128)?,
            action: text("action", q.action.as_deref(), 64)?,
            resource_type: text("resource_type", q.resource_type.as_deref(), 64)?,
            resource_id: text("resource_id", q.resource_id.as_deref(), 128)?,
            window: window(
                q.since.as_deref(),
                q.until.as_deref(),
                q.limit.as_deref(),
                q.cursor.as_deref(),
                Limits::PAGE,
            )?,
        })
    }
}

/// The cursor that follows a page: `fetched` holds up to `limit + 1` ids,
/// newest first (one more than asked, to learn whether anything follows).
/// `None` when this page is the last.
pub fn next_cursor(fetched_ids: &[i64], limit: u64) -> Option<i64> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if fetched_ids.len() > limit {
        limit
            .checked_sub(1)
            .and_then(|i| fetched_ids.get(i))
            .copied()
    } else {
        None
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> InvalidInput {
    InvalidInput {
        field,
        message: message.into(),
    }
}

/// A text filter: blank is none; otherwise at most `max` characters and no
/// control characters (the value is matched exactly, never interpreted).
fn text(field: &'static str, v: Option<&str>, max: usize) -> Result<Option<String>, InvalidInput> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > max {
        return Err(invalid(field, format!("must be at most {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(Some(v.to_owned()))
}

/// A whole number, or none when blank.
fn number(field: &'static str, v: Option<&str>, what: &str) -> Result<Option<i64>, InvalidInput> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match v.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(Some(n)),
        _ => Err(invalid(field, format!("must be {what}"))),
    }
}

fn window(
    since: Option<&str>,
    until: Option<&str>,
    limit: Option<&str>,
    cursor: Option<&str>,
    limits: Limits,
) -> Result<Window, InvalidInput> {
    const SECONDS: &str = "unix seconds (a whole number, 0 or more)";
    let since = number("since", since, SECONDS)?;
    let until = number("until", until, SECONDS)?;
    if let (Some(s), Some(u)) = (since, until)
        && s > u
    {
        return Err(invalid("since", "must not be after until"));
    }
    let range = format!("a whole number from 1 to {}", limits.max);
    let limit = match number("limit", limit, &range)? {
        None => limits.default,
        Some(n) => match u64::try_from(n) {
            Ok(n) if (1..=limits.max).contains(&n) => n,
            _ => return Err(invalid("limit", format!("must be {range}"))),
        },
    };
    let cursor = match number(
        "cursor",
        cursor,
        "a next_cursor from a previous page (a whole number above 0)",
    )? {
        Some(0) => {
            return Err(invalid(
                "cursor",
                "must be a next_cursor from a previous page (a whole number above 0)",
            ));
        }
        c => c,
    };
    Ok(Window {
        since,
        until,
        limit,
        cursor,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> AuditQuery {
        let mut q = AuditQuery::default();
        for (k, v) in pairs {
            let v = Some((*v).to_owned());
            match *k {
                "client_id" => q.client_id = v,
                "method" => q.method = v,
                "outcome" => q.outcome = v,
                "reason" => q.reason = v,
                "source" => q.source = v,
                "since" => q.since = v,
                "until" => q.until = v,
                "limit" => q.limit = v,
                "cursor" => q.cursor = v,
                _ => unreachable!(),
            }
        }
        q
    }

    fn err(pairs: &[(&str, &str)]) -> String {
        AuditFilter::parse(&q(pairs), Limits::PAGE)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults_and_blank_fields_are_no_filter() {
        let f =
            AuditFilter::parse(&q(&[("client_id", "  "), ("since", "")]), Limits::PAGE).unwrap();
        assert_eq!(f.client_id, None);
        assert_eq!(f.window.since, None);
        assert_eq!(f.window.limit, DEFAULT_PAGE);
        let e = AuditFilter::parse(&AuditQuery::default(), Limits::EXPORT).unwrap();
        assert_eq!(e.window.limit, MAX_EXPORT);
    }

    #[test]
    fn every_filter_is_read() {
        let f = AuditFilter::parse(
            &q(&[
                ("client_id", " app_1 "),
                ("method", "client_secret_post"),
                ("outcome", "refused"),
                ("reason", "secret_mismatch"),
                ("source", "10.0.0.1"),
                ("since", "100"),
                ("until", "200"),
                ("limit", "500"),
                ("cursor", "42"),
            ]),
            Limits::PAGE,
        )
        .unwrap();
        assert_eq!(f.client_id.as_deref(), Some("app_1"));
        assert_eq!(f.outcome, Some(Outcome::Refused));
        assert_eq!(
            f.window,
            Window {
                since: Some(100),
                until: Some(200),
                limit: 500,
                cursor: Some(42)
            }
        );
    }

    #[test]
    fn bad_values_name_their_field() {
        assert_eq!(
            err(&[("limit", "0")]),
            "limit: must be a whole number from 1 to 500"
        );
        assert_eq!(
            err(&[("limit", "501")]),
            "limit: must be a whole number from 1 to 500"
        );
        assert_eq!(
            err(&[("limit", "ten")]),
            "limit: must be a whole number from 1 to 500"
        );
        assert!(err(&[("since", "yesterday")]).starts_with("since: must be unix seconds"));
        assert!(err(&[("until", "-5")]).starts_with("until: must be unix seconds"));
        assert_eq!(
            err(&[("since", "10"), ("until", "9")]),
            "since: must not be after until"
        );
        assert!(err(&[("cursor", "0")]).starts_with("cursor: must be a next_cursor"));
        assert!(err(&[("cursor", "abc")]).starts_with("cursor: must be a next_cursor"));
        assert_eq!(
            err(&[("outcome", "maybe")]),
            "outcome: must be issued or refused"
        );
        assert_eq!(
            err(&[("client_id", &"x".repeat(129))]),
            "client_id: must be at most 128 characters"
        );
        assert_eq!(
            err(&[("source", "1.2.3.4\u{0}")]),
            "source: must not contain control characters"
        );
        // The export's limit goes higher.
        let f = AuditFilter::parse(&q(&[("limit", "600")]), Limits::EXPORT).unwrap();
        assert_eq!(f.window.limit, 600);
        assert!(AuditFilter::parse(&q(&[("limit", "1000001")]), Limits::EXPORT).is_err());
    }

    #[test]
    fn the_next_cursor_is_the_last_row_of_a_full_page_with_more_behind_it() {
        assert_eq!(next_cursor(&[9, 8, 7], 2), Some(8));
        assert_eq!(next_cursor(&[9, 8], 2), None);
        assert_eq!(next_cursor(&[9], 2), None);
        assert_eq!(next_cursor(&[], 2), None);
    }

    #[test]
    fn admin_filters_are_checked_too() {
        let f = AdminAuditFilter::parse(&AdminAuditQuery {
            action: Some("agent.create".into()),
            limit: Some("3".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(f.action.as_deref(), Some("agent.create"));
        assert_eq!(f.window.limit, 3);
        let e = AdminAuditFilter::parse(&AdminAuditQuery {
            limit: Some("1000".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "limit: must be a whole number from 1 to 500");
    }
}
