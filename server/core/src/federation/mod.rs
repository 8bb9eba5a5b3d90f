//! Federated credentials: a workload proves who it is with a token or
//! document its platform issued, checked against a federated credential
//! provider, then against the credential's verification.

pub mod check;
pub mod expr;
pub mod oidc;
pub mod pca;
pub mod pkcs7;

use crate::names::InvalidInput;
use serde::{Deserialize, Serialize};
use writ_types::{ProviderKind, SimpleModeFields, VerificationMode, simple_mode_expression};

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

/// A provider or credential type as a caller spelled it (`oidc`, `pca` or
/// `pkcs7`); anything else is refused as the `type` field.
pub fn parse_kind(s: &str) -> Result<ProviderKind, InvalidInput> {
    ProviderKind::parse(s).ok_or_else(|| invalid("type", "must be oidc, pca or pkcs7"))
}

/// A credential's verification. Each simple mode stands for an expression,
/// shown to the admin so the rule is never hidden.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Verification {
    /// OIDC: `sub == system:serviceaccount:<namespace>:<service_account>`,
    /// and, when a principal ID is given, the service account's UID
    /// (`kubernetes.io.serviceaccount.uid`): a service account deleted and
    /// re-created under the same name then no longer passes.
    Kubernetes {
        namespace: String,
        service_account: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        principal_id: Option<String>,
    },
    /// OIDC: `sub == <principal_id>`
    PrincipalId { principal_id: String },
    /// PCA: the client certificate's subject CN.
    Certificate { cn: String },
    /// PKCS#7: the instance ID in the signed document.
    CloudServer {
        instance_id: String,
        /// The document field that holds it (`instanceId` on AWS,
        /// `instance-id` on Alibaba), fixed when the credential is saved.
        #[serde(default = "default_instance_field")]
        field: String,
    },
    /// Any CEL expression over the credential type's fields.
    Expression { expression: String },
}

fn default_instance_field() -> String {
    "instanceId".into()
}

/// The fields of a verification as the console and the API send them.
#[derive(Debug, Default, Clone)]
pub struct VerificationFields<'a> {
    pub mode: &'a str,
    pub namespace: Option<&'a str>,
    pub service_account: Option<&'a str>,
    pub principal_id: Option<&'a str>,
    pub cn: Option<&'a str>,
    pub instance_id: Option<&'a str>,
    pub expression: Option<&'a str>,
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

fn required(field: &'static str, v: Option<&str>, max: usize) -> Result<String, InvalidInput> {
    let v = v.map(str::trim).unwrap_or_default();
    if v.is_empty() || v.chars().count() > max {
        return Err(invalid(
            field,
            format!("is required (at most {max} characters)"),
        ));
    }
    Ok(v.to_owned())
}

impl Verification {
    /// Builds a verification for a credential type from the console / API
    /// fields; `instance_field` is the PKCS#7 provider's instance-id field.
    pub fn parse(
        kind: ProviderKind,
        f: &VerificationFields<'_>,
        instance_field: &str,
    ) -> Result<Self, InvalidInput> {
        let mode = VerificationMode::parse(f.mode).filter(|m| kind.allows(*m));
        let v = match mode {
            Some(VerificationMode::Kubernetes) => Self::Kubernetes {
                namespace: dns_name("Namespace", f.namespace.unwrap_or_default(), 63, false)?,
                service_account: dns_name(
                    "Service Account",
                    f.service_account.unwrap_or_default(),
                    253,
                    true,
                )?,
                principal_id: match f.principal_id.map(str::trim).filter(|p| !p.is_empty()) {
                    None => None,
                    Some(p) => Some(required("Principal ID", Some(p), 512)?),
                },
            },
            Some(VerificationMode::PrincipalId) => Self::PrincipalId {
                principal_id: required("Principal ID", f.principal_id, 512)?,
            },
            Some(VerificationMode::Certificate) => Self::Certificate {
                cn: required("Certificate CN", f.cn, 256)?,
            },
            Some(VerificationMode::CloudServer) => Self::CloudServer {
                instance_id: required("Instance ID", f.instance_id, 128)?,
                field: instance_field.to_owned(),
            },
            Some(VerificationMode::Expression) => {
                let src = f.expression.unwrap_or_default();
                expr::Expression::compile(src, kind, expr::Produces::Bool)
                    .map_err(|e| invalid("expression", e.to_string()))?;
                Self::Expression {
                    expression: src.to_owned(),
                }
            }
            None => {
                // "a, b or c": the kind's modes, as the API spells them.
                let names: Vec<&str> = kind.modes().iter().map(|m| m.as_str()).collect();
                let modes = match names.split_last() {
                    Some((last, rest)) if !rest.is_empty() => {
                        format!("{} or {last}", rest.join(", "))
                    }
                    _ => names.concat(),
                };
                return Err(invalid(
                    "verification",
                    format!(
                        "unknown mode '{}' for a {kind} credential: use {modes}",
                        f.mode.chars().take(32).collect::<String>()
                    ),
                ));
            }
        };
        Ok(v)
    }

    /// Builds an OIDC verification (kept for callers that only do OIDC).
    pub fn for_oidc(
        mode: &str,
        namespace: Option<&str>,
        service_account: Option<&str>,
        principal_id: Option<&str>,
    ) -> Result<Self, InvalidInput> {
        Self::parse(
            ProviderKind::Oidc,
            &VerificationFields {
                mode,
                namespace,
                service_account,
                principal_id,
                ..Default::default()
            },
            "",
        )
    }

    pub fn mode(&self) -> VerificationMode {
        match self {
            Self::Kubernetes { .. } => VerificationMode::Kubernetes,
            Self::PrincipalId { .. } => VerificationMode::PrincipalId,
            Self::Certificate { .. } => VerificationMode::Certificate,
            Self::CloudServer { .. } => VerificationMode::CloudServer,
            Self::Expression { .. } => VerificationMode::Expression,
        }
    }

    /// The expression this verification stands for: a simple mode's is
    /// generated by [`simple_mode_expression`], as the console previews it.
    pub fn expression(&self) -> String {
        let fields = match self {
            Self::Kubernetes {
                namespace,
                service_account,
                principal_id,
            } => SimpleModeFields {
                namespace,
                service_account,
                principal_id: principal_id.as_deref(),
                ..Default::default()
            },
            Self::PrincipalId { principal_id } => SimpleModeFields {
                principal_id: Some(principal_id),
                ..Default::default()
            },
            Self::Certificate { cn } => SimpleModeFields {
                cn,
                ..Default::default()
            },
            Self::CloudServer { instance_id, field } => SimpleModeFields {
                instance_id,
                instance_field: field,
                ..Default::default()
            },
            Self::Expression { expression } => return expression.clone(),
        };
        simple_mode_expression(self.mode(), &fields)
    }

    /// Simple modes, checked without the interpreter (the hot path).
    /// `None` for expression mode.
    fn check_simple(&self, input: &expr::Input) -> Option<bool> {
        let v = input.as_json();
        let s = |path: &[&str]| {
            path.iter()
                .try_fold(v, |v, k| v.get(*k))
                .and_then(serde_json::Value::as_str)
        };
        Some(match self {
            Self::Kubernetes {
                namespace,
                service_account,
                principal_id,
            } => {
                s(&["jwt", "claims", "sub"])
                    .and_then(|sub| sub.strip_prefix("system:serviceaccount:"))
                    .and_then(|rest| rest.split_once(':'))
                    .is_some_and(|(ns, sa)| ns == namespace && sa == service_account)
                    && principal_id.as_deref().is_none_or(|p| {
                        s(&["jwt", "claims", "kubernetes.io", "serviceaccount", "uid"]) == Some(p)
                    })
            }
            Self::PrincipalId { principal_id } => {
                s(&["jwt", "claims", "sub"]) == Some(principal_id.as_str())
            }
            Self::Certificate { cn } => s(&["cert", "subject", "CN"]) == Some(cn.as_str()),
            Self::CloudServer { instance_id, field } => {
                s(&["pkcs7", "payload", "jsonData", field]) == Some(instance_id.as_str())
            }
            Self::Expression { .. } => return None,
        })
    }
}

/// One step of a federated check, for the Test credential panel and audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    pub reason: String,
}

impl Check {
    pub fn pass(name: &'static str, reason: impl Into<String>) -> Self {
        Self {
            name,
            passed: true,
            reason: reason.into(),
        }
    }
    pub fn fail(name: &'static str, reason: impl Into<String>) -> Self {
        Self {
            name,
            passed: false,
            reason: reason.into(),
        }
    }
}

/// A credential's rules, compiled once: the provider's trust condition,
/// the credential's verification and its attribute mapping.
#[derive(Debug)]
pub struct CredentialRules {
    pub verification: Verification,
    verification_program: Option<expr::Expression>,
    trust_condition: Option<expr::Expression>,
    mapping: Option<expr::Expression>,
}

impl CredentialRules {
    pub fn new(
        kind: ProviderKind,
        verification: Verification,
        trust_condition: Option<&str>,
        mapping: Option<&str>,
    ) -> Result<Self, InvalidInput> {
        let compile = |field: &'static str, src: &str, p: expr::Produces| {
            expr::Expression::compile(src, kind, p).map_err(|e| invalid(field, e.to_string()))
        };
        let some = |s: Option<&str>| {
            s.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Ok(Self {
            verification_program: match &verification {
                Verification::Expression { expression } => {
                    Some(compile("expression", expression, expr::Produces::Bool)?)
                }
                _ => None,
            },
            trust_condition: some(trust_condition)
                .map(|s| compile("trust_condition", &s, expr::Produces::Bool))
                .transpose()?,
            mapping: some(mapping)
                .map(|s| compile("attribute_mapping", &s, expr::Produces::String))
                .transpose()?,
            verification,
        })
    }

    /// Runs trust condition, verification and mapping in that order; the
    /// checks say what passed, and the result is the mapped subject.
    pub fn evaluate(
        &self,
        input: &expr::Input,
        checks: &mut Vec<Check>,
    ) -> Result<Option<String>, RuleFailure> {
        if let Some(tc) = &self.trust_condition {
            match tc.check(input) {
                Ok(true) => checks.push(Check::pass(
                    "trust_condition",
                    "the provider's trust condition holds",
                )),
                Ok(false) => {
                    checks.push(Check::fail(
                        "trust_condition",
                        "the provider's trust condition is false",
                    ));
                    return Err(RuleFailure::TrustCondition);
                }
                Err(e) => {
                    checks.push(Check::fail(
                        "trust_condition",
                        format!("the provider's trust condition could not be evaluated: {e}"),
                    ));
                    return Err(RuleFailure::TrustCondition);
                }
            }
        }
        let verified = match self.verification.check_simple(input) {
            Some(ok) => Ok(ok),
            None => self
                .verification_program
                .as_ref()
                .map_or(Ok(false), |p| p.check(input)),
        };
        match verified {
            Ok(true) => checks.push(Check::pass(
                "verification",
                format!(
                    "{} holds",
                    self.verification
                        .expression()
                        .chars()
                        .take(200)
                        .collect::<String>()
                ),
            )),
            Ok(false) => {
                checks.push(Check::fail(
                    "verification",
                    "the credential's verification is false",
                ));
                return Err(RuleFailure::Verification);
            }
            Err(e) => {
                checks.push(Check::fail(
                    "verification",
                    format!("the verification could not be evaluated: {e}"),
                ));
                return Err(RuleFailure::Verification);
            }
        }
        match &self.mapping {
            None => Ok(None),
            Some(m) => match m.map_subject(input) {
                Ok(s) => {
                    checks.push(Check::pass(
                        "attribute_mapping",
                        format!("activeSubjectUrn = {s}"),
                    ));
                    Ok(Some(s))
                }
                Err(e) => {
                    checks.push(Check::fail("attribute_mapping", e));
                    Err(RuleFailure::AttributeMapping)
                }
            },
        }
    }
}

/// Which of a credential's rules refused the presented identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleFailure {
    TrustCondition,
    Verification,
    AttributeMapping,
}

impl RuleFailure {
    /// The audit reason (and the OAuth error's reason).
    pub fn reason(self) -> &'static str {
        match self {
            Self::TrustCondition => "trust_condition_failed",
            Self::Verification => "verification_failed",
            Self::AttributeMapping => "attribute_mapping_failed",
        }
    }
}

/// A provider's trust anchors, decoded once per provider change.
#[derive(Debug)]
pub enum ProviderTrust {
    Oidc(oidc::OidcTrust),
    /// Keys fetched from the issuer (discovery or JWKS URL), cached by the
    /// service layer, refetched on an unknown `kid`.
    OidcRemote(oidc::OidcProviderConfig),
    Pca(pca::PcaTrust),
    Pkcs7(pkcs7::Pkcs7Trust),
}

impl ProviderTrust {
    /// From the stored JSON config of a provider of `kind`.
    pub fn from_config(kind: ProviderKind, config: &str) -> Result<Self, crate::OAuthError> {
        let err = |_| crate::OAuthError::server_error();
        Ok(match kind {
            ProviderKind::Oidc => {
                let cfg: oidc::OidcProviderConfig = serde_json::from_str(config).map_err(err)?;
                if cfg.remote() {
                    Self::OidcRemote(cfg)
                } else {
                    Self::Oidc(oidc::OidcTrust::new(&cfg)?)
                }
            }
            ProviderKind::Pca => Self::Pca(pca::PcaTrust::new(
                &serde_json::from_str(config).map_err(err)?,
            )?),
            ProviderKind::Pkcs7 => Self::Pkcs7(pkcs7::Pkcs7Trust::new(
                &serde_json::from_str(config).map_err(err)?,
            )?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn oidc_input(sub: &str) -> expr::Input {
        expr::Input::new("app_1", "fc_1").with("jwt", json!({"header": {}, "claims": {"sub": sub}}))
    }

    fn passes(rules: &CredentialRules, input: &expr::Input) -> bool {
        rules.evaluate(input, &mut Vec::new()).is_ok()
    }

    #[test]
    fn kubernetes_mode_generates_and_checks_the_sub_rule() {
        let v = Verification::for_oidc("kubernetes", Some("payments"), Some("billing-bot"), None)
            .unwrap();
        assert_eq!(
            v.expression(),
            "jwt.claims.sub == 'system:serviceaccount:payments:billing-bot'"
        );
        let r = CredentialRules::new(ProviderKind::Oidc, v, None, None).unwrap();
        assert!(passes(
            &r,
            &oidc_input("system:serviceaccount:payments:billing-bot")
        ));
        assert!(!passes(
            &r,
            &oidc_input("system:serviceaccount:payments:other")
        ));
        assert!(!passes(&r, &expr::Input::new("a", "b")));
        assert!(Verification::for_oidc("kubernetes", Some("Bad_NS"), Some("x"), None).is_err());
        // The optional Principal ID pins the service account's UID.
        let uid = "7f3e0d4c-1b2a-4c5d-8e9f-0a1b2c3d4e5f";
        let pinned = Verification::for_oidc(
            "kubernetes",
            Some("payments"),
            Some("billing-bot"),
            Some(uid),
        )
        .unwrap();
        assert_eq!(
            pinned.expression(),
            format!(
                "jwt.claims.sub == 'system:serviceaccount:payments:billing-bot' && jwt.claims.'kubernetes.io'.serviceaccount.uid == '{uid}'"
            )
        );
        let token = |uid: &str| {
            expr::Input::new("app_1", "fc_1").with(
                "jwt",
                json!({"header": {}, "claims": {
                    "sub": "system:serviceaccount:payments:billing-bot",
                    "kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "billing-bot", "uid": uid}}
                }}),
            )
        };
        // The simple check and the expression it shows agree.
        let simple = CredentialRules::new(ProviderKind::Oidc, pinned.clone(), None, None).unwrap();
        let shown = CredentialRules::new(
            ProviderKind::Oidc,
            Verification::Expression {
                expression: pinned.expression(),
            },
            None,
            None,
        )
        .unwrap();
        for r in [&simple, &shown] {
            assert!(passes(r, &token(uid)));
            assert!(!passes(r, &token("00000000-0000-0000-0000-000000000000")));
            assert!(!passes(
                r,
                &oidc_input("system:serviceaccount:payments:billing-bot")
            ));
        }
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
        let r = CredentialRules::new(ProviderKind::Oidc, v.clone(), None, None).unwrap();
        assert!(passes(&r, &oidc_input("repo:acme/app:ref:refs/heads/main")));
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

    #[test]
    fn simple_modes_for_pca_and_pkcs7_show_their_expressions() {
        let f = |mode, cn, instance_id| VerificationFields {
            mode,
            cn,
            instance_id,
            ..Default::default()
        };
        let v = Verification::parse(
            ProviderKind::Pca,
            &f("certificate", Some("payments-agent"), None),
            "",
        )
        .unwrap();
        assert_eq!(v.expression(), "cert.subject.CN == 'payments-agent'");
        let v = Verification::parse(
            ProviderKind::Pkcs7,
            &f("cloud_server", None, Some("i-bp1")),
            "instance-id",
        )
        .unwrap();
        assert_eq!(
            v.expression(),
            "pkcs7.payload.jsonData.'instance-id' == 'i-bp1'"
        );
        // The generated expression means the same as the fast check.
        let input = expr::Input::new("a", "b").with(
            "pkcs7",
            json!({"payload": {"jsonData": {"instance-id": "i-bp1"}}}),
        );
        let fast = CredentialRules::new(ProviderKind::Pkcs7, v.clone(), None, None).unwrap();
        let slow = CredentialRules::new(
            ProviderKind::Pkcs7,
            Verification::Expression {
                expression: v.expression(),
            },
            None,
            None,
        )
        .unwrap();
        assert!(passes(&fast, &input) && passes(&slow, &input));
        let e =
            Verification::parse(ProviderKind::Pca, &f("certificate", None, None), "").unwrap_err();
        assert_eq!(e.field, "Certificate CN");
        assert!(Verification::parse(ProviderKind::Pca, &f("kubernetes", None, None), "").is_err());
        let e = Verification::parse(
            ProviderKind::Pca,
            &VerificationFields {
                mode: "expression",
                expression: Some("jwt.claims.sub =="),
                ..Default::default()
            },
            "",
        )
        .unwrap_err();
        assert!(e.message.contains("line 1"), "{}", e.message);
    }

    #[test]
    fn trust_condition_runs_first_and_mapping_gives_the_subject() {
        let v = Verification::for_oidc("principal_id", None, None, Some("repo:acme/app")).unwrap();
        let r = CredentialRules::new(
            ProviderKind::Oidc,
            v,
            Some("jwt.claims.sub.startsWith('repo:acme/')"),
            Some("'github:' + jwt.claims.sub"),
        )
        .unwrap();
        let mut checks = Vec::new();
        assert_eq!(
            r.evaluate(&oidc_input("repo:acme/app"), &mut checks),
            Ok(Some("github:repo:acme/app".into()))
        );
        assert_eq!(
            checks.iter().map(|c| c.name).collect::<Vec<_>>(),
            ["trust_condition", "verification", "attribute_mapping"]
        );
        let mut checks = Vec::new();
        assert_eq!(
            r.evaluate(&oidc_input("repo:evil/app"), &mut checks),
            Err(RuleFailure::TrustCondition)
        );
        assert_eq!(checks.len(), 1);
        assert!(
            CredentialRules::new(
                ProviderKind::Oidc,
                Verification::PrincipalId {
                    principal_id: "x".into()
                },
                Some("cert.subject.CN == 'x'"),
                None
            )
            .is_err()
        );
    }

    #[test]
    fn every_simple_mode_shows_the_text_the_console_previews() {
        // What the console sends (padded, as typed) and what it previews
        // from the same inputs, trimmed: the stored verification must show
        // exactly that text.
        let (ns, sa, uid, sub, cn, id) = (
            " payments ",
            " billing-bot ",
            " 7f3e ",
            " repo:o'brien/app ",
            " agent\\1 ",
            " i-bp1 ",
        );
        let mut covered = Vec::new();
        for (kind, instance_field) in [
            (ProviderKind::Oidc, ""),
            (ProviderKind::Pca, ""),
            (ProviderKind::Pkcs7, "instanceId"),
            (ProviderKind::Pkcs7, "instance-id"),
        ] {
            for &mode in kind.modes().iter().filter(|m| m.is_simple()) {
                let pinned = [None, Some(uid)];
                let uids: &[Option<&str>] = match mode {
                    VerificationMode::Kubernetes => &pinned,
                    VerificationMode::PrincipalId => &pinned[1..],
                    _ => &pinned[..1],
                };
                for &principal_id in uids {
                    let principal_id = match mode {
                        VerificationMode::PrincipalId => Some(sub),
                        _ => principal_id,
                    };
                    let v = Verification::parse(
                        kind,
                        &VerificationFields {
                            mode: mode.as_str(),
                            namespace: Some(ns),
                            service_account: Some(sa),
                            principal_id,
                            cn: Some(cn),
                            instance_id: Some(id),
                            expression: None,
                        },
                        instance_field,
                    )
                    .unwrap();
                    assert_eq!(v.mode(), mode);
                    assert_eq!(
                        serde_json::to_value(&v).unwrap()["mode"],
                        mode.as_str(),
                        "the stored tag is the mode's wire name"
                    );
                    let preview = simple_mode_expression(
                        mode,
                        &SimpleModeFields {
                            namespace: ns.trim(),
                            service_account: sa.trim(),
                            principal_id: principal_id.map(str::trim),
                            cn: cn.trim(),
                            instance_id: id.trim(),
                            instance_field,
                        },
                    );
                    assert!(!preview.is_empty());
                    assert_eq!(v.expression(), preview, "{kind} {mode}");
                    covered.push(mode);
                }
            }
        }
        for mode in VerificationMode::ALL {
            assert_eq!(covered.contains(&mode), mode.is_simple(), "{mode}");
        }
        // A mode another kind owns is refused, naming the kind's modes.
        let e = Verification::parse(
            ProviderKind::Oidc,
            &VerificationFields {
                mode: "certificate",
                ..Default::default()
            },
            "",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "verification: unknown mode 'certificate' for a oidc credential: use kubernetes, principal_id or expression"
        );
        assert_eq!(
            parse_kind("OIDC").unwrap_err().to_string(),
            "type: must be oidc, pca or pkcs7"
        );
        assert_eq!(parse_kind("pkcs7"), Ok(ProviderKind::Pkcs7));
    }
}
