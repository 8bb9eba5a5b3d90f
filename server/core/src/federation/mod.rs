//! Federated credentials: a workload proves who it is with a token or
//! document its platform issued, checked against a federated credential
//! provider, then against the credential's verification.

pub mod expr;
pub mod oidc;
pub mod pca;
pub mod pkcs7;

use crate::names::InvalidInput;
use serde::{Deserialize, Serialize};

fn invalid(field: &'static str, message: impl Into<String>) -> InvalidInput {
    InvalidInput {
        field,
        message: message.into(),
    }
}

/// Names of federated credentials and providers: `[a-z0-9_-]`, 1–64 chars,
/// immutable once saved (the SDK config refers to them).
pub fn parse_credential_name(s: &str) -> Result<String, InvalidInput> {
    let s = s.trim();
    if s.is_empty()
        || s.len() > 64
        || !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(invalid(
            "name",
            "must be 1-64 characters of a-z, 0-9, '_' or '-'",
        ));
    }
    Ok(s.to_owned())
}

/// A credential's verification in simple mode. Each mode stands for an
/// expression, shown to the admin so the rule is never hidden.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Verification {
    /// `sub == system:serviceaccount:<namespace>:<service_account>`
    Kubernetes {
        namespace: String,
        service_account: String,
    },
    /// `sub == <principal_id>`
    PrincipalId { principal_id: String },
}

/// DNS-1123 label (Kubernetes namespace) / subdomain (service account).
fn dns_name(field: &'static str, s: &str, max: usize, dots: bool) -> Result<String, InvalidInput> {
    let s = s.trim();
    let ok = !s.is_empty()
        && s.len() <= max
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (dots && b == b'.')
        })
        && s.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
        && s.as_bytes().last().is_some_and(u8::is_ascii_alphanumeric);
    if !ok {
        return Err(invalid(
            field,
            format!(
                "must be a valid Kubernetes name (lower-case letters, digits, '-'{}; at most {max})",
                if dots { ", '.'" } else { "" }
            ),
        ));
    }
    Ok(s.to_owned())
}

impl Verification {
    /// Builds an OIDC verification from the console / API fields.
    pub fn for_oidc(
        mode: &str,
        namespace: Option<&str>,
        service_account: Option<&str>,
        principal_id: Option<&str>,
    ) -> Result<Self, InvalidInput> {
        match mode {
            "kubernetes" => Ok(Self::Kubernetes {
                namespace: dns_name("Namespace", namespace.unwrap_or_default(), 63, false)?,
                service_account: dns_name(
                    "Service Account",
                    service_account.unwrap_or_default(),
                    253,
                    true,
                )?,
            }),
            "principal_id" => {
                let p = principal_id.map(str::trim).unwrap_or_default();
                if p.is_empty() || p.len() > 512 {
                    return Err(invalid(
                        "Principal ID",
                        "is required (at most 512 characters)",
                    ));
                }
                Ok(Self::PrincipalId {
                    principal_id: p.to_owned(),
                })
            }
            "expression" => Err(invalid(
                "verification",
                "expression mode is not available yet; use kubernetes or principal_id",
            )),
            other => Err(invalid(
                "verification",
                format!(
                    "unknown mode '{}' for an OIDC credential",
                    other.chars().take(32).collect::<String>()
                ),
            )),
        }
    }

    /// The expression this simple mode stands for.
    pub fn expression(&self) -> String {
        let q = |s: &str| s.replace('\\', "\\\\").replace('\'', "\\'");
        match self {
            Self::Kubernetes {
                namespace,
                service_account,
            } => {
                format!(
                    "jwt.claims.sub == 'system:serviceaccount:{}:{}'",
                    q(namespace),
                    q(service_account)
                )
            }
            Self::PrincipalId { principal_id } => {
                format!("jwt.claims.sub == '{}'", q(principal_id))
            }
        }
    }

    /// Whether the verified token's claims satisfy this verification.
    pub fn check(&self, claims: &serde_json::Value) -> bool {
        let sub = claims.get("sub").and_then(serde_json::Value::as_str);
        match self {
            Self::Kubernetes {
                namespace,
                service_account,
            } => {
                sub == Some(format!("system:serviceaccount:{namespace}:{service_account}").as_str())
            }
            Self::PrincipalId { principal_id } => sub == Some(principal_id.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kubernetes_mode_generates_and_checks_the_sub_rule() {
        let v = Verification::for_oidc("kubernetes", Some("payments"), Some("billing-bot"), None)
            .unwrap();
        assert_eq!(
            v.expression(),
            "jwt.claims.sub == 'system:serviceaccount:payments:billing-bot'"
        );
        assert!(v.check(&json!({"sub": "system:serviceaccount:payments:billing-bot"})));
        assert!(!v.check(&json!({"sub": "system:serviceaccount:payments:other"})));
        assert!(!v.check(&json!({})));
        assert!(Verification::for_oidc("kubernetes", Some("Bad_NS"), Some("x"), None).is_err());
        assert!(
            Verification::for_oidc("kubernetes", Some("ns"), None, None)
                .unwrap_err()
                .field
                == "Service Account"
        );
    }

    #[test]
    fn principal_mode_and_names() {
        let v = Verification::for_oidc(
            "principal_id",
            None,
            None,
            Some("repo:acme/app:ref:refs/heads/main"),
        )
        .unwrap();
        assert!(v.check(&json!({"sub": "repo:acme/app:ref:refs/heads/main"})));
        assert!(Verification::for_oidc("principal_id", None, None, Some(" ")).is_err());
        assert!(Verification::for_oidc("expression", None, None, None).is_err());
        assert_eq!(
            parse_credential_name("k8s-billing_1").unwrap(),
            "k8s-billing_1"
        );
        assert!(parse_credential_name("Has Space").is_err());
        let round: Verification =
            serde_json::from_value(serde_json::to_value(&v).unwrap()).unwrap();
        assert_eq!(round, v);
    }
}
