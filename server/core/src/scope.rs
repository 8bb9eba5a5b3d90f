//! The IDaaS scope syntax: whitespace-separated `audience|permission` items,
//! all for one audience; `audience|.all` asks for every granted permission.

use crate::error::OAuthError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRequest {
    pub audience: String,
    /// Empty with `all` set means only `.all` was asked for.
    pub permissions: Vec<String>,
    pub all: bool,
}

impl ScopeRequest {
    pub fn parse(raw: Option<&str>) -> Result<Self, OAuthError> {
        let raw = raw.map(str::trim).unwrap_or_default();
        if raw.is_empty() {
            return Err(OAuthError::invalid_scope(
                "scope_missing",
                "scope is required, as '<audience>|<permission>' or '<audience>|.all'",
            ));
        }
        let mut audience: Option<&str> = None;
        let mut permissions: Vec<String> = Vec::new();
        let mut all = false;
        for item in raw.split_whitespace() {
            let Some((aud, perm)) = item.split_once('|') else {
                return Err(OAuthError::invalid_scope(
                    "scope_malformed",
                    format!(
                        "scope item '{}' must be '<audience>|<permission>'",
                        truncate(item)
                    ),
                ));
            };
            if aud.is_empty() || perm.is_empty() || perm.contains('|') {
                return Err(OAuthError::invalid_scope(
                    "scope_malformed",
                    format!(
                        "scope item '{}' must be '<audience>|<permission>'",
                        truncate(item)
                    ),
                ));
            }
            match audience {
                None => audience = Some(aud),
                Some(a) if a == aud => {}
                Some(_) => {
                    return Err(OAuthError::invalid_scope(
                        "scope_multiple_audiences",
                        "a token request may name only one audience",
                    ));
                }
            }
            if perm == ".all" {
                all = true;
            } else if !permissions.iter().any(|p| p == perm) {
                permissions.push(perm.to_owned());
            }
        }
        Ok(Self {
            audience: audience.unwrap_or_default().to_owned(),
            permissions,
            all,
        })
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

/// What a client holds on one resource server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Granted {
    /// Every permission the resource server has (now or later).
    All,
    Some(Vec<String>),
}

/// Decides the permissions a token carries. Explicitly named permissions must
/// all be granted (else `invalid_scope`); `.all` yields the granted subset of
/// the resource server's permissions, and must not be empty.
pub fn decide(
    req: &ScopeRequest,
    rs_permissions: &[String],
    granted: Option<&Granted>,
) -> Result<Vec<String>, OAuthError> {
    let Some(granted) = granted else {
        return Err(OAuthError::invalid_scope(
            "scope_not_granted",
            format!(
                "the client has no permissions on audience '{}'",
                truncate(&req.audience)
            ),
        ));
    };
    let holds = |p: &str| {
        rs_permissions.iter().any(|r| r == p)
            && match granted {
                Granted::All => true,
                Granted::Some(g) => g.iter().any(|x| x == p),
            }
    };
    let mut out: Vec<String> = Vec::new();
    for p in &req.permissions {
        if !holds(p) {
            return Err(OAuthError::invalid_scope(
                "scope_not_granted",
                format!(
                    "permission '{}' on audience '{}' is not granted to this client",
                    truncate(p),
                    truncate(&req.audience)
                ),
            ));
        }
        out.push(p.clone());
    }
    if req.all {
        for p in rs_permissions {
            if holds(p) && !out.contains(p) {
                out.push(p.clone());
            }
        }
    }
    if out.is_empty() {
        return Err(OAuthError::invalid_scope(
            "scope_not_granted",
            format!(
                "the client has no permissions on audience '{}'",
                truncate(&req.audience)
            ),
        ));
    }
    Ok(out)
}

/// The scope string a token and a response carry: `aud|p1 aud|p2`.
pub fn render(audience: &str, permissions: &[String]) -> String {
    permissions
        .iter()
        .map(|p| format!("{audience}|{p}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OAuthErrorCode;

    fn perms(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_sdk_default_scope() {
        let r = ScopeRequest::parse(Some(
            "urn:cloud:idaas:pam|cloud_account:obtain_access_credential",
        ))
        .unwrap();
        assert_eq!(r.audience, "urn:cloud:idaas:pam");
        assert_eq!(
            r.permissions,
            perms(&["cloud_account:obtain_access_credential"])
        );
        assert!(!r.all);
    }

    #[test]
    fn rejects_multiple_audiences_and_malformed_items() {
        assert_eq!(
            ScopeRequest::parse(Some("a|x b|y")).unwrap_err().reason,
            "scope_multiple_audiences"
        );
        assert_eq!(
            ScopeRequest::parse(Some("a|read write"))
                .unwrap_err()
                .reason,
            "scope_malformed"
        );
        assert_eq!(
            ScopeRequest::parse(Some("a|b|c")).unwrap_err().reason,
            "scope_malformed"
        );
        assert_eq!(
            ScopeRequest::parse(None).unwrap_err().code,
            OAuthErrorCode::InvalidScope
        );
        assert!(ScopeRequest::parse(Some("a|x a|y")).is_ok());
    }

    #[test]
    fn all_yields_granted_subset() {
        let req = ScopeRequest::parse(Some("api|.all")).unwrap();
        let rs = perms(&["read", "write", "admin"]);
        let got = decide(&req, &rs, Some(&Granted::Some(perms(&["write", "read"])))).unwrap();
        assert_eq!(got, perms(&["read", "write"]));
        assert_eq!(decide(&req, &rs, Some(&Granted::All)).unwrap(), rs);
    }

    #[test]
    fn ungranted_permission_is_invalid_scope() {
        let req = ScopeRequest::parse(Some("api|admin")).unwrap();
        let rs = perms(&["read", "admin"]);
        let err = decide(&req, &rs, Some(&Granted::Some(perms(&["read"])))).unwrap_err();
        assert_eq!(err.code, OAuthErrorCode::InvalidScope);
        assert!(decide(&req, &rs, None).is_err());
        // A granted permission the resource server no longer has is not issued.
        let req = ScopeRequest::parse(Some("api|gone")).unwrap();
        assert!(decide(&req, &rs, Some(&Granted::Some(perms(&["gone"])))).is_err());
    }

    #[test]
    fn renders_items() {
        assert_eq!(render("a", &perms(&["x", "y"])), "a|x a|y");
    }
}
