//! The federated check: one function from a loaded credential, its
//! provider's trust, the presented proof and the time to a verified identity
//! or a typed failure. The token endpoint and the console's dry run ("Test
//! credential") both call it, so they show and enforce the same steps.
//!
//! It is pure but for one thing it cannot hold: the keys of an OIDC issuer
//! that publishes them remotely. The caller passes a [`KeySource`] for those
//! (the service layer's fetch-and-cache); nothing else leaves this module.

use super::expr::Input;
use super::{Check, CredentialRules, ProviderTrust, RuleFailure, oidc, pca, pkcs7};
use crate::error::{OAuthError, OAuthErrorCode};
use crate::grant::jwt_bearer::{self, Policy, VerifiedAssertion};
use std::sync::Arc;
use writ_types::ProviderKind;

/// A client's federated credential as loaded, with its provider's trust
/// and its compiled rules (built once per admin change, then cached).
pub struct LoadedCredential {
    pub credential_id: String,
    pub provider_id: String,
    pub kind: ProviderKind,
    pub enabled: bool,
    pub provider_enabled: bool,
    pub trust: ProviderTrust,
    pub rules: CredentialRules,
}

/// What the workload presented, nothing verified yet.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    /// The kind its `client_assertion_type` names.
    pub kind: ProviderKind,
    /// The credential's name (`application_federated_credential_name`).
    pub name: &'a str,
    pub assertion: &'a str,
    /// PCA: the client certificate and its chain (PEM).
    pub client_x509: Option<&'a str>,
    pub client_x509_chain: Option<&'a str>,
}

/// The deployment's side of the check.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub now: i64,
    pub skew_secs: i64,
    /// Audiences a PCA assertion may name (the token endpoint, the issuer).
    pub audiences: &'a [&'a str],
    /// This instance's id: the audience of PKCS#7 documents.
    pub instance_id: &'a str,
}

/// Keys of an OIDC issuer that publishes them remotely (discovery or a
/// JWKS URL), fetched and cached by the caller, refetched on an unknown `kid`.
pub trait KeySource {
    fn oidc_keys(
        &self,
        provider_id: &str,
        config: &oidc::OidcProviderConfig,
        kid: Option<&str>,
    ) -> impl Future<Output = Result<Arc<oidc::OidcTrust>, OAuthError>>;
}

/// A passed check: who the workload is.
#[derive(Debug)]
pub struct Verified {
    /// The attribute mapping's `activeSubjectUrn`, when the credential maps one.
    pub subject: Option<String>,
    /// The fields the rules ran over (`client.`, `jwt.`, `cert.`, `pkcs7.`).
    pub attributes: serde_json::Value,
    /// A client assertion that must be used once (PCA); the caller records
    /// its `jti` unless this is a dry run.
    pub single_use: Option<VerifiedAssertion>,
}

/// Why a federated check failed. Each maps to one OAuth error (what the
/// workload is told) and one audit reason (what the admin reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FederatedFailure {
    CredentialDisabled,
    /// The credential is of another kind than the assertion type names.
    WrongKind {
        name: String,
        credential: ProviderKind,
        presented: ProviderKind,
    },
    ProviderDisabled,
    /// A PCA request without `client_x509`.
    CertificateMissing,
    /// The platform's proof failed one of its own checks (keys, chain,
    /// signature, issuer, audience, lifetime); the error says which.
    Proof(OAuthError),
    Rule(RuleFailure),
}

impl FederatedFailure {
    pub fn audit_reason(&self) -> &'static str {
        match self {
            Self::CredentialDisabled => "federated_credential_disabled",
            Self::WrongKind { .. } => "federated_credential_type",
            Self::ProviderDisabled => "federated_provider_disabled",
            Self::CertificateMissing => "certificate_missing",
            Self::Proof(e) => e.reason,
            Self::Rule(r) => r.reason(),
        }
    }

    pub fn oauth_error(&self) -> OAuthError {
        match self {
            Self::CredentialDisabled => OAuthError::invalid_client("federated_credential_disabled"),
            Self::WrongKind {
                name,
                credential,
                presented,
            } => OAuthError::new(
                OAuthErrorCode::InvalidClient,
                "federated_credential_type",
                format!("federated credential '{name}' is of type {credential}, not {presented}"),
            ),
            Self::ProviderDisabled => OAuthError::invalid_client("federated_provider_disabled"),
            Self::CertificateMissing => OAuthError::invalid_request(
                "certificate_missing",
                "client_x509 is required with a PCA credential",
            ),
            Self::Proof(e) => e.clone(),
            Self::Rule(r) => OAuthError::new(
                OAuthErrorCode::InvalidClient,
                r.reason(),
                match r {
                    RuleFailure::TrustCondition => {
                        "federated credential rejected: the provider's trust condition is not met"
                    }
                    RuleFailure::AttributeMapping => {
                        "federated credential rejected: the attribute mapping produced no subject"
                    }
                    RuleFailure::Verification => {
                        "federated credential rejected: it does not satisfy the credential's verification"
                    }
                },
            ),
        }
    }
}

impl From<FederatedFailure> for OAuthError {
    fn from(f: FederatedFailure) -> Self {
        f.oauth_error()
    }
}

/// Checks a presented federated proof, in order: the credential and its
/// provider are usable, the proof is valid under the provider's trust
/// (keys, chain, signature, issuer, audience, lifetime), then the provider's
/// trust condition, the credential's verification and its attribute
/// mapping. Each step is appended to `checks`, passed or failed, so the
/// Test credential panel and the audit log show where a request stopped.
pub async fn check(
    client_id: &str,
    credential: &LoadedCredential,
    presented: &Presented<'_>,
    ctx: &Context<'_>,
    keys: &impl KeySource,
    checks: &mut Vec<Check>,
) -> Result<Verified, FederatedFailure> {
    let usable = if !credential.enabled {
        Err(FederatedFailure::CredentialDisabled)
    } else if credential.kind != presented.kind {
        Err(FederatedFailure::WrongKind {
            name: presented.name.to_owned(),
            credential: credential.kind,
            presented: presented.kind,
        })
    } else if !credential.provider_enabled {
        Err(FederatedFailure::ProviderDisabled)
    } else {
        Ok(())
    };
    step(
        checks,
        "enabled",
        usable,
        "the credential and its provider are enabled",
    )?;

    let input = Input::new(client_id, &credential.credential_id);
    let (input, single_use) = match &credential.trust {
        ProviderTrust::Oidc(trust) => (verify_oidc(presented, trust, ctx, checks, input)?, None),
        ProviderTrust::OidcRemote(cfg) => {
            let kid = oidc::token_kid(presented.assertion);
            let trust = step(
                checks,
                "keys",
                keys.oidc_keys(&credential.provider_id, cfg, kid.as_deref())
                    .await
                    .map_err(FederatedFailure::Proof),
                "the issuer's keys are available (fetched and cached)",
            )?;
            (verify_oidc(presented, &trust, ctx, checks, input)?, None)
        }
        ProviderTrust::Pca(trust) => {
            let (input, assertion) = verify_pca(client_id, presented, trust, ctx, checks, input)?;
            (input, Some(assertion))
        }
        ProviderTrust::Pkcs7(trust) => {
            let doc = step(
                checks,
                "signature",
                pkcs7::verify(
                    presented.assertion,
                    trust,
                    ctx.instance_id,
                    ctx.now,
                    ctx.skew_secs,
                )
                .map_err(FederatedFailure::Proof),
                "the document's signature, account, audience and age are valid",
            )?;
            (input.with("pkcs7", doc.fields), None)
        }
    };
    let subject = credential
        .rules
        .evaluate(&input, checks)
        .map_err(FederatedFailure::Rule)?;
    Ok(Verified {
        subject,
        attributes: input.into_json(),
        single_use,
    })
}

fn verify_oidc(
    presented: &Presented<'_>,
    trust: &oidc::OidcTrust,
    ctx: &Context<'_>,
    checks: &mut Vec<Check>,
    input: Input,
) -> Result<Input, FederatedFailure> {
    let t = step(
        checks,
        "signature",
        oidc::verify(presented.assertion, trust, ctx.now, ctx.skew_secs)
            .map_err(FederatedFailure::Proof),
        "the token's signature, issuer, audience and lifetime are valid",
    )?;
    Ok(input.with(
        "jwt",
        serde_json::json!({"header": t.header, "claims": t.claims}),
    ))
}

/// PCA: the certificate chains to the provider's root, then the assertion
/// is signed by the certificate's key.
fn verify_pca(
    client_id: &str,
    presented: &Presented<'_>,
    trust: &pca::PcaTrust,
    ctx: &Context<'_>,
    checks: &mut Vec<Check>,
    input: Input,
) -> Result<(Input, VerifiedAssertion), FederatedFailure> {
    // A missing certificate is a malformed request, not a failed step.
    let leaf = presented
        .client_x509
        .filter(|c| !c.trim().is_empty())
        .ok_or(FederatedFailure::CertificateMissing)?;
    let leaf = step(
        checks,
        "certificate_chain",
        pca::verify_chain(
            leaf,
            presented.client_x509_chain,
            trust,
            ctx.now,
            ctx.skew_secs,
        )
        .map_err(FederatedFailure::Proof),
        "the client certificate chains to the provider's root, each within validity",
    )?;
    let policy = Policy {
        audiences: ctx.audiences,
        now: ctx.now,
        skew_secs: ctx.skew_secs,
    };
    let v = step(
        checks,
        "signature",
        jwt_bearer::verify(
            presented.assertion,
            client_id,
            std::slice::from_ref(&leaf.key),
            &policy,
        )
        .map_err(FederatedFailure::Proof),
        "the assertion is signed by the certificate's key, for this token endpoint, not expired",
    )?;
    let input = input.with("cert", leaf.fields).with(
        "jwt",
        serde_json::json!({"header": v.header, "claims": v.claims}),
    );
    Ok((input, v))
}

/// Records one check's outcome and passes the result on.
pub fn step<T, E: Describe>(
    checks: &mut Vec<Check>,
    name: &'static str,
    r: Result<T, E>,
    passed: &str,
) -> Result<T, E> {
    match &r {
        Ok(_) => checks.push(Check::pass(name, passed)),
        Err(e) => checks.push(Check::fail(name, e.describe())),
    }
    r
}

/// What a failed step says in the check list.
pub trait Describe {
    fn describe(&self) -> String;
}

impl Describe for OAuthError {
    fn describe(&self) -> String {
        self.description.clone()
    }
}

impl Describe for FederatedFailure {
    fn describe(&self) -> String {
        self.oauth_error().description
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::federation::Verification;
    use crate::federation::oidc::{OidcProviderConfig, OidcTrust};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::{Value, json};
    use std::cell::RefCell;

    const NOW: i64 = 1_800_000_000;
    const ISSUER: &str = "https://kubernetes.default.svc";

    /// Polls a future that never waits (the key sources below answer at once).
    fn run<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the check waited on nothing"),
        }
    }

    fn issuer() -> (rcgen::KeyPair, Value) {
        let kp = rcgen::KeyPair::generate().unwrap();
        let raw = kp.public_key_raw();
        let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256",
            "use": "sig", "x": B64.encode(&raw[1..33]), "y": B64.encode(&raw[33..65])}]});
        (kp, jwks)
    }

    fn token(kp: &rcgen::KeyPair, sub: &str) -> String {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some("k1".into());
        let claims = json!({"iss": ISSUER, "aud": "writ", "sub": sub,
            "exp": NOW + 600, "iat": NOW, "nbf": NOW});
        let key = EncodingKey::from_ec_pem(kp.serialize_pem().as_bytes()).unwrap();
        jsonwebtoken::encode(&h, &claims, &key).unwrap()
    }

    fn k8s_credential(trust: ProviderTrust, mapping: Option<&str>) -> LoadedCredential {
        let v =
            Verification::for_oidc("kubernetes", Some("payments"), Some("billing"), None).unwrap();
        LoadedCredential {
            credential_id: "fc_1".into(),
            provider_id: "prov_1".into(),
            kind: ProviderKind::Oidc,
            enabled: true,
            provider_enabled: true,
            trust,
            rules: CredentialRules::new(ProviderKind::Oidc, v, None, mapping).unwrap(),
        }
    }

    fn local(jwks: &Value) -> ProviderTrust {
        let cfg = OidcProviderConfig::parse(ISSUER, "writ", jwks).unwrap();
        ProviderTrust::Oidc(OidcTrust::new(&cfg).unwrap())
    }

    /// Remote keys: answers with `keys` (or refuses) and records each call.
    struct Keys {
        keys: Option<Arc<OidcTrust>>,
        calls: RefCell<Vec<(String, Option<String>)>>,
    }

    impl KeySource for Keys {
        async fn oidc_keys(
            &self,
            provider_id: &str,
            _config: &OidcProviderConfig,
            kid: Option<&str>,
        ) -> Result<Arc<OidcTrust>, OAuthError> {
            self.calls
                .borrow_mut()
                .push((provider_id.into(), kid.map(str::to_owned)));
            self.keys
                .clone()
                .ok_or_else(|| OAuthError::invalid_client("jwks_unavailable"))
        }
    }

    fn no_keys() -> Keys {
        Keys {
            keys: None,
            calls: RefCell::new(Vec::new()),
        }
    }

    fn presented(kind: ProviderKind, assertion: &str) -> Presented<'_> {
        Presented {
            kind,
            name: "k8s",
            assertion,
            client_x509: None,
            client_x509_chain: None,
        }
    }

    const CTX: Context<'static> = Context {
        now: NOW,
        skew_secs: 60,
        audiences: &[],
        instance_id: "idaas_test",
    };

    fn names(checks: &[Check]) -> Vec<(&'static str, bool)> {
        checks.iter().map(|c| (c.name, c.passed)).collect()
    }

    #[test]
    fn a_valid_token_passes_every_step_and_maps_the_subject() {
        let (kp, jwks) = issuer();
        let cred = k8s_credential(local(&jwks), Some("'k8s:' + jwt.claims.sub"));
        let t = token(&kp, "system:serviceaccount:payments:billing");
        let mut checks = Vec::new();
        let v = run(check(
            "app_1",
            &cred,
            &presented(ProviderKind::Oidc, &t),
            &CTX,
            &no_keys(),
            &mut checks,
        ))
        .unwrap();
        assert_eq!(
            v.subject.as_deref(),
            Some("k8s:system:serviceaccount:payments:billing")
        );
        assert_eq!(v.attributes["client"]["clientId"], "app_1");
        assert_eq!(
            v.attributes["jwt"]["claims"]["sub"],
            "system:serviceaccount:payments:billing"
        );
        assert!(
            v.single_use.is_none(),
            "an ID token is not a client assertion"
        );
        assert_eq!(
            names(&checks),
            [
                ("enabled", true),
                ("signature", true),
                ("verification", true),
                ("attribute_mapping", true)
            ]
        );
    }

    #[test]
    fn each_failure_is_typed_with_one_oauth_error_and_one_audit_reason() {
        let (kp, jwks) = issuer();
        let good = token(&kp, "system:serviceaccount:payments:billing");
        let failure = |cred: &LoadedCredential, kind, t: &str| {
            let mut checks = Vec::new();
            let f = run(check(
                "app_1",
                cred,
                &presented(kind, t),
                &CTX,
                &no_keys(),
                &mut checks,
            ))
            .unwrap_err();
            assert!(checks.last().is_some_and(|c| !c.passed), "{checks:?}");
            f
        };

        let mut off = k8s_credential(local(&jwks), None);
        off.enabled = false;
        let f = failure(&off, ProviderKind::Oidc, &good);
        assert_eq!(f, FederatedFailure::CredentialDisabled);
        assert_eq!(f.audit_reason(), "federated_credential_disabled");
        assert_eq!(f.oauth_error().code, OAuthErrorCode::InvalidClient);

        let cred = k8s_credential(local(&jwks), None);
        let f = failure(&cred, ProviderKind::Pca, &good);
        assert_eq!(f.audit_reason(), "federated_credential_type");
        assert_eq!(
            f.oauth_error().description,
            "federated credential 'k8s' is of type oidc, not pca"
        );

        let f = failure(&cred, ProviderKind::Oidc, "not-a-jwt");
        assert!(matches!(f, FederatedFailure::Proof(_)), "{f:?}");
        assert_eq!(f.oauth_error().code, OAuthErrorCode::InvalidClient);

        let other = token(&kp, "system:serviceaccount:payments:other");
        let f = failure(&cred, ProviderKind::Oidc, &other);
        assert_eq!(f, FederatedFailure::Rule(RuleFailure::Verification));
        assert_eq!(f.audit_reason(), "verification_failed");
        assert_eq!(f.oauth_error().reason, "verification_failed");
    }

    #[test]
    fn remote_keys_come_from_the_key_source_with_the_tokens_kid() {
        let (kp, jwks) = issuer();
        let cfg = OidcProviderConfig {
            jwks: Value::Null,
            jwks_uri: Some("https://issuer.example/jwks".into()),
            ..OidcProviderConfig::parse(ISSUER, "writ", &jwks).unwrap()
        };
        let trust = Arc::new(OidcTrust::with_keys(&cfg, &jwks).unwrap());
        let cred = k8s_credential(ProviderTrust::OidcRemote(cfg), None);
        let t = token(&kp, "system:serviceaccount:payments:billing");

        let keys = Keys {
            keys: Some(trust),
            calls: RefCell::new(Vec::new()),
        };
        let mut checks = Vec::new();
        run(check(
            "app_1",
            &cred,
            &presented(ProviderKind::Oidc, &t),
            &CTX,
            &keys,
            &mut checks,
        ))
        .unwrap();
        assert_eq!(
            *keys.calls.borrow(),
            [("prov_1".to_owned(), Some("k1".to_owned()))]
        );
        assert_eq!(checks[1].name, "keys");

        let unavailable = no_keys();
        let mut checks = Vec::new();
        let f = run(check(
            "app_1",
            &cred,
            &presented(ProviderKind::Oidc, &t),
            &CTX,
            &unavailable,
            &mut checks,
        ))
        .unwrap_err();
        assert_eq!(f.audit_reason(), "jwks_unavailable");
        assert_eq!(names(&checks), [("enabled", true), ("keys", false)]);
    }
}
