//! Federated credentials through the service layer on a real SQLite file,
//! without HTTP: PCA (certificate chains from writ-core's fixtures), the
//! Test credential dry run, attribute mapping with custom subjects, PKCS#7
//! (a document the fixture cloud signs) and OIDC with pasted keys.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine;
use common::{PAM_ALL, TestWrit, agent, dto, m2m, now, open, refusal, subject_of, verified_claims};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use writ_core::testing::cloud::{CloudSigner, KeyKind};
use writ_core::testing::pki::{Chain, ChainOptions};
use writ_service::service::TokenRequest;
use writ_types::{FederatedTestRequest, FederatedTestResult};

const PCA: &str = "urn:cloud:idaas:params:oauth:client-assertion-type:x509-jwt-bearer";
const OIDC: &str = "urn:cloud:idaas:params:oauth:client-assertion-type:id-token-bearer";
const PKCS7: &str = "urn:cloud:idaas:params:oauth:client-assertion-type:pkcs7-bearer";

/// The checks a passing PCA credential without trust condition or mapping runs.
const PCA_CHECKS: [&str; 6] = [
    "client",
    "credential",
    "enabled",
    "certificate_chain",
    "signature",
    "verification",
];

/// A PCA provider trusting the chain's root and intermediate.
async fn pca_provider(w: &TestWrit, name: &str, c: &Chain) -> String {
    let p = w
        .create_federated_provider(dto(json!({"type": "pca", "name": name,
            "root_certificate": c.root_pem, "intermediate_certificates": [c.intermediate_pem]})))
        .await
        .unwrap();
    assert_eq!(p.root_subject.as_deref(), Some("Test Root CA"));
    p.id
}

/// A federated credential on the client; the body as the admin API takes it.
async fn credential(w: &TestWrit, client_pk: &str, body: Value) {
    w.create_federated_credential(client_pk, dto(body))
        .await
        .unwrap();
}

/// A PCA token request as the SDK sends it.
fn pca_request(cid: &str, name: &str, assertion: &str, c: &Chain, scope: &str) -> TokenRequest {
    TokenRequest {
        grant_type: Some("client_credentials".into()),
        client_id: Some(cid.into()),
        scope: Some(scope.into()),
        client_assertion_type: Some(PCA.into()),
        client_assertion: Some(assertion.into()),
        application_federated_credential_name: Some(name.into()),
        client_x509: Some(c.leaf_pem.clone()),
        client_x509_chain: Some(c.intermediate_pem.clone()),
        source: "10.0.0.7".into(),
        ..Default::default()
    }
}

async fn pca_dry_run(
    w: &TestWrit,
    cid: &str,
    name: &str,
    assertion: &str,
    c: &Chain,
) -> FederatedTestResult {
    w.test_federated_credential(FederatedTestRequest {
        client_id: cid.into(),
        client_assertion_type: PCA.into(),
        client_assertion: assertion.into(),
        application_federated_credential_name: Some(name.into()),
        client_x509: Some(c.leaf_pem.clone()),
        client_x509_chain: Some(c.intermediate_pem.clone()),
    })
    .await
    .unwrap()
}

fn check_names(r: &FederatedTestResult) -> Vec<&str> {
    r.checks.iter().map(|c| c.name.as_str()).collect()
}

/// An agent with a PCA credential `pca-cert` in Certificate CN mode.
async fn pca_agent(w: &TestWrit, c: &Chain, cn: &str) -> (String, String) {
    let pid = pca_provider(w, "corp-pca", c).await;
    let a = agent(w, "pca-workload").await;
    credential(
        w,
        &a.id,
        json!({"type": "pca", "provider_id": pid, "name": "pca-cert",
            "verification": {"mode": "certificate", "cn": cn}}),
    )
    .await;
    (a.id, a.client_id)
}

#[tokio::test]
async fn pca_certificate_cn_mode_issues_a_token() {
    let w = open().await;
    let chain = Chain::new(now(), &ChainOptions::default());
    let (pk, cid) = pca_agent(&w, &chain, "payments-agent").await;
    let assertion = chain.assertion(&cid, &w.urls().token_endpoint, w.now());
    let t = w
        .token(pca_request(&cid, "pca-cert", &assertion, &chain, PAM_ALL))
        .await
        .unwrap();
    let claims = verified_claims(&w, &t.access_token, &t.audience);
    assert_eq!(claims["sub"], cid);
    assert_eq!(claims["client_id"], cid);
    assert!(claims["agent_id"].as_str().unwrap().starts_with("agent_"));

    // Audited as a PCA federated request; the credential's last use moves.
    w.flush_audit().await;
    let last = &w.recent_audit(&pk, 1).await.unwrap()[0];
    assert_eq!(
        (
            last.method.as_str(),
            last.outcome.as_str(),
            last.jti.as_str()
        ),
        ("pca_federated", "issued", t.jti.as_str())
    );
    let creds = w.list_federated_credentials(&pk).await.unwrap();
    assert_eq!(creds[0].last_used_at, Some(w.now()));

    // A leaf from another CA, or an assertion signed by another key, is not enough.
    let stranger = Chain::new(now(), &ChainOptions::default());
    let a = stranger.assertion(&cid, &w.urls().token_endpoint, w.now());
    assert_eq!(
        refusal(
            w.token(pca_request(&cid, "pca-cert", &a, &stranger, PAM_ALL))
                .await
        )
        .0,
        "invalid_client"
    );
    let forged = stranger.assertion(&cid, &w.urls().token_endpoint, w.now());
    assert_eq!(
        refusal(
            w.token(pca_request(&cid, "pca-cert", &forged, &chain, PAM_ALL))
                .await
        )
        .0,
        "invalid_client"
    );
}

#[tokio::test]
async fn dry_run_reports_the_checks_in_order_and_leaves_the_jti_unused() {
    let w = open().await;
    let chain = Chain::new(now(), &ChainOptions::default());
    let (_, cid) = pca_agent(&w, &chain, "payments-agent").await;
    let assertion = chain.assertion(&cid, &w.urls().token_endpoint, w.now());

    let r = pca_dry_run(&w, &cid, "pca-cert", &assertion, &chain).await;
    assert!(r.passed, "{r:?}");
    assert_eq!(r.subject.as_deref(), Some(cid.as_str()));
    assert_eq!(check_names(&r), PCA_CHECKS);
    assert!(r.checks.iter().all(|c| c.passed && !c.reason.is_empty()));
    // Twice: a dry run consumes nothing, not even for itself.
    let again = pca_dry_run(&w, &cid, "pca-cert", &assertion, &chain).await;
    assert_eq!(again, r);

    // The real request with the very same assertion still succeeds…
    let t = w
        .token(pca_request(&cid, "pca-cert", &assertion, &chain, PAM_ALL))
        .await
        .unwrap();
    assert_eq!(subject_of(&w, &t), cid);
    // …and uses the jti up.
    assert_eq!(
        refusal(
            w.token(pca_request(&cid, "pca-cert", &assertion, &chain, PAM_ALL))
                .await
        ),
        ("invalid_client", "assertion_replayed")
    );

    // A dry run that fails stops at the failing check and says why.
    let r = pca_dry_run(&w, &cid, "no-such-credential", &assertion, &chain).await;
    assert!(!r.passed);
    assert_eq!(r.subject, None);
    assert_eq!(check_names(&r), ["client", "credential"]);
    assert_eq!(
        r.checks.iter().map(|c| c.passed).collect::<Vec<_>>(),
        [true, false]
    );
}

#[tokio::test]
async fn wrong_cn_fails_the_verification_check() {
    let w = open().await;
    let chain = Chain::new(
        now(),
        &ChainOptions {
            leaf_cn: "intruder".into(),
            ..Default::default()
        },
    );
    let (pk, cid) = pca_agent(&w, &chain, "payments-agent").await;
    let assertion = chain.assertion(&cid, &w.urls().token_endpoint, w.now());

    let r = pca_dry_run(&w, &cid, "pca-cert", &assertion, &chain).await;
    assert!(!r.passed);
    assert_eq!(r.subject, None);
    // Everything up to the verification passed; the verification failed, last.
    assert_eq!(check_names(&r), PCA_CHECKS);
    let (last, before) = r.checks.split_last().unwrap();
    assert!(before.iter().all(|c| c.passed), "{r:?}");
    assert!(!last.passed);
    assert!(last.reason.contains("verification"), "{}", last.reason);

    assert_eq!(
        refusal(
            w.token(pca_request(&cid, "pca-cert", &assertion, &chain, PAM_ALL))
                .await
        ),
        ("invalid_client", "verification_failed")
    );
    w.flush_audit().await;
    let last = &w.recent_audit(&pk, 1).await.unwrap()[0];
    assert_eq!(
        (last.outcome.as_str(), last.reason.as_str()),
        ("refused", "verification_failed")
    );
}

#[tokio::test]
async fn attribute_mapping_makes_the_subject_on_custom_subject_audiences() {
    let w = open().await;
    let chain = Chain::new(now(), &ChainOptions::default());
    let pid = pca_provider(&w, "corp-pca", &chain).await;
    let app = m2m(&w, "spiffe-workload").await;
    let cid = app.client_id.clone();
    credential(
        &w,
        &app.id,
        json!({"type": "pca", "provider_id": pid, "name": "spiffe",
            "verification": {"mode": "certificate", "cn": "payments-agent"},
            "attribute_mapping": "cert.san.uri[0]"}),
    )
    .await;
    for (aud, custom) in [
        ("https://api.corp/payments", true),
        ("https://api.corp/plain", false),
    ] {
        let rs = w
            .create_resource_server(dto(json!({"name": aud, "audience": aud,
                "permissions": ["read"], "custom_subject_identity": custom})))
            .await
            .unwrap();
        assert_eq!(rs.custom_subject, custom);
        w.grant_permissions(
            &rs.id,
            dto(json!({"client_id": cid, "permissions": [".all"]})),
        )
        .await
        .unwrap();
    }
    let mapped = format!("{cid}:spiffe://corp/payments/agent");
    let token_for = |scope: &'static str| {
        let a = chain.assertion(&cid, &w.urls().token_endpoint, w.now());
        w.token(pca_request(&cid, "spiffe", &a, &chain, scope))
    };
    let t = token_for("https://api.corp/payments|read").await.unwrap();
    assert_eq!(subject_of(&w, &t), mapped);
    let claims = verified_claims(&w, &t.access_token, "https://api.corp/payments");
    assert_eq!(claims["client_id"], cid, "client_id stays the client's");
    let t = token_for("https://api.corp/plain|read").await.unwrap();
    assert_eq!(subject_of(&w, &t), cid);

    // The dry run shows the mapping step and the subject it makes.
    let a = chain.assertion(&cid, &w.urls().token_endpoint, w.now());
    let r = pca_dry_run(&w, &cid, "spiffe", &a, &chain).await;
    assert!(r.passed, "{r:?}");
    assert_eq!(r.subject, Some(mapped));
    let mut want = PCA_CHECKS.to_vec();
    want.push("attribute_mapping");
    assert_eq!(check_names(&r), want);
}

#[tokio::test]
async fn pkcs7_document_signed_by_the_cloud_passes() {
    let w = open().await;
    let ecs = CloudSigner::new(KeyKind::Rsa);
    let p = w
        .create_federated_provider(dto(json!({"type": "pkcs7", "name": "ecs",
            "trust_source": "alibaba_cloud_ecs", "verification_certificate": ecs.cert_pem,
            "account_id": "1234567"})))
        .await
        .unwrap();
    assert_eq!(p.trust_source.as_deref(), Some("alibaba_cloud_ecs"));
    let a = agent(&w, "ecs-workload").await;
    credential(
        &w,
        &a.id,
        json!({"type": "pkcs7", "provider_id": p.id, "name": "instance",
            "verification": {"mode": "cloud_server", "instance_id": "i-bp1abc"}}),
    )
    .await;
    let doc = |aud: &str, instance: &str| {
        json!({"instance-id": instance, "owner-account-id": "1234567", "region-id": "cn-hangzhou",
            "audience": json!({"aud": aud, "signingTime": now()}).to_string()})
        .to_string()
    };
    let request = |document: String| TokenRequest {
        grant_type: Some("client_credentials".into()),
        client_id: Some(a.client_id.clone()),
        scope: Some(PAM_ALL.into()),
        client_assertion_type: Some(PKCS7.into()),
        client_assertion: Some(document),
        application_federated_credential_name: Some("instance".into()),
        source: "10.0.0.8".into(),
        ..Default::default()
    };
    let good = ecs.sign(&doc(w.instance_id(), "i-bp1abc"));

    let r = w
        .test_federated_credential(FederatedTestRequest {
            client_id: a.client_id.clone(),
            client_assertion_type: PKCS7.into(),
            client_assertion: good.clone(),
            application_federated_credential_name: Some("instance".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(r.passed, "{r:?}");
    assert_eq!(
        check_names(&r),
        [
            "client",
            "credential",
            "enabled",
            "signature",
            "verification"
        ]
    );

    let t = w.token(request(good)).await.unwrap();
    assert_eq!(subject_of(&w, &t), a.client_id);
    // Another instance, or a document meant for another Writ, is refused.
    for (what, d) in [
        (
            "other instance",
            ecs.sign(&doc(w.instance_id(), "i-bp1xyz")),
        ),
        (
            "other audience",
            ecs.sign(&doc("idaas_elsewhere", "i-bp1abc")),
        ),
    ] {
        assert_eq!(
            refusal(w.token(request(d)).await).0,
            "invalid_client",
            "{what}"
        );
    }
}

const ISSUER: &str = "https://oidc.cluster-1.example";
const SA: &str = "system:serviceaccount:payments:billing-bot";

/// A Kubernetes-like issuer whose keys the admin pastes (nothing is fetched).
struct Cluster(rcgen::KeyPair);

impl Cluster {
    fn new() -> Self {
        Self(rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap())
    }
    fn jwks(&self) -> Value {
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let raw = self.0.public_key_raw();
        json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "sa-key-1", "use": "sig",
            "alg": "ES256", "x": b64(&raw[1..33]), "y": b64(&raw[33..65])}]})
    }
    /// A projected service account token for `sub`, issued now.
    fn token(&self, sub: &str, now: i64) -> String {
        let claims = json!({"iss": ISSUER, "aud": ["writ-federation"], "sub": sub,
            "iat": now, "nbf": now, "exp": now + 3600,
            "kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "billing-bot"}}});
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some("sa-key-1".into());
        jsonwebtoken::encode(
            &h,
            &claims,
            &EncodingKey::from_ec_pem(self.0.serialize_pem().as_bytes()).unwrap(),
        )
        .unwrap()
    }
}

#[tokio::test]
async fn oidc_with_pasted_keys_passes_for_a_kubernetes_credential() {
    let w = open().await;
    let cluster = Cluster::new();
    let p = w
        .create_federated_provider(dto(json!({"type": "oidc", "name": "cluster-1",
            "issuer": ISSUER, "audience": "writ-federation", "jwks": cluster.jwks()})))
        .await
        .unwrap();
    assert_eq!(p.key_source.as_deref(), Some("pasted"));
    let app = m2m(&w, "billing-batch").await;
    let cid = app.client_id.clone();
    let cred = w
        .create_federated_credential(
            &app.id,
            dto(
                json!({"type": "oidc", "provider_id": p.id, "name": "k8s-billing",
                "verification": {"mode": "kubernetes", "namespace": "payments",
                    "service_account": "billing-bot"}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(cred.verification_mode, "kubernetes");
    assert_eq!(
        cred.verification_expression,
        format!("jwt.claims.sub == '{SA}'")
    );
    let request = |token: String| TokenRequest {
        grant_type: Some("client_credentials".into()),
        client_id: Some(cid.clone()),
        scope: Some(PAM_ALL.into()),
        client_assertion_type: Some(OIDC.into()),
        client_assertion: Some(token),
        application_federated_credential_name: Some("k8s-billing".into()),
        source: "10.0.0.9".into(),
        ..Default::default()
    };

    // As the SDK reads the token file: trailing newline included.
    let token = format!("{}\n", cluster.token(SA, w.now()));
    let r = w
        .test_federated_credential(FederatedTestRequest {
            client_id: cid.clone(),
            client_assertion_type: OIDC.into(),
            client_assertion: token.clone(),
            application_federated_credential_name: Some("k8s-billing".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(r.passed, "{r:?}");
    assert_eq!(
        check_names(&r),
        [
            "client",
            "credential",
            "enabled",
            "signature",
            "verification"
        ]
    );
    let t = w.token(request(token)).await.unwrap();
    assert_eq!(subject_of(&w, &t), cid);

    // Another service account fails the verification; a token from another
    // signer fails the signature.
    assert_eq!(
        refusal(
            w.token(request(
                cluster.token("system:serviceaccount:payments:intruder", w.now())
            ))
            .await
        ),
        ("invalid_client", "verification_failed")
    );
    assert_eq!(
        refusal(w.token(request(Cluster::new().token(SA, w.now()))).await).0,
        "invalid_client"
    );
}

#[tokio::test]
async fn an_edit_is_dry_run_on_the_proposed_settings_without_saving_them() {
    let w = open().await;
    // The workload's certificate says "batch-worker"; the stored credential expects another CN.
    let chain = Chain::new(
        now(),
        &ChainOptions {
            leaf_cn: "batch-worker".into(),
            ..Default::default()
        },
    );
    let (pk, cid) = pca_agent(&w, &chain, "payments-agent").await;
    let id = w.list_federated_credentials(&pk).await.unwrap()[0]
        .id
        .clone();
    let stored = w.list_federated_credentials(&pk).await.unwrap();
    let assertion = chain.assertion(&cid, &w.urls().token_endpoint, w.now());
    let test = || FederatedTestRequest {
        client_assertion_type: PCA.into(),
        client_assertion: assertion.clone(),
        client_x509: Some(chain.leaf_pem.clone()),
        client_x509_chain: Some(chain.intermediate_pem.clone()),
        ..Default::default()
    };
    // The stored settings refuse it…
    assert!(
        !pca_dry_run(&w, &cid, "pca-cert", &assertion, &chain)
            .await
            .passed
    );
    // …the proposed CN and mapping pass, with the mapped subject…
    let edit: writ_types::FederatedCredentialUpdate = dto(json!({
        "verification": {"mode": "certificate", "cn": "batch-worker"},
        "attribute_mapping": "'pca:' + cert.subject.CN"}));
    let r = w
        .test_federated_credential_update(&pk, &id, &edit, test())
        .await
        .unwrap();
    assert!(r.passed, "{r:?}");
    assert_eq!(check_names(&r)[..6], PCA_CHECKS);
    assert_eq!(
        r.subject.as_deref(),
        Some(format!("{cid}:pca:batch-worker").as_str())
    );
    // …and nothing was saved: the credential and the real token endpoint are unchanged.
    assert_eq!(w.list_federated_credentials(&pk).await.unwrap(), stored);
    assert!(
        !pca_dry_run(&w, &cid, "pca-cert", &assertion, &chain)
            .await
            .passed
    );
    // A proposed edit that does not compile is refused as the save would be.
    let bad: writ_types::FederatedCredentialUpdate =
        dto(json!({"verification": {"mode": "expression", "expression": "cert.subject.CN =="}}));
    assert!(
        w.test_federated_credential_update(&pk, &id, &bad, test())
            .await
            .is_err()
    );
    // Another client's credential is not found through this client.
    let other = agent(&w, "someone-else").await;
    assert!(
        w.test_federated_credential_update(&other.id, &id, &edit, test())
            .await
            .is_err()
    );
}
