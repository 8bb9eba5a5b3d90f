//! PCA and PKCS#7 federated credentials end to end over TLS, on both
//! backends: certificate chains and signed instance documents the tests
//! make themselves; expressions, attribute mapping and custom subjects; the
//! Test credential dry run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::{Backend, TestServer, now, spawn};
use serde_json::{Value, json};
use writ_core::testing::cloud::{CloudSigner, KeyKind};
use writ_core::testing::pki::{Chain, ChainOptions};

on_both_backends!(
    pca_certificate_gets_a_token_once_per_assertion,
    pca_hostile_chains_issue_nothing,
    expression_mapping_and_custom_subject,
    pkcs7_documents_from_both_clouds,
);

const PCA: &str = "urn:cloud:idaas:params:oauth:client-assertion-type:x509-jwt-bearer";
const PKCS7: &str = "urn:cloud:idaas:params:oauth:client-assertion-type:pkcs7-bearer";

async fn created(r: reqwest::Response) -> Value {
    let st = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(st, 201, "{body}");
    body
}

async fn pca_provider(
    s: &TestServer,
    name: &str,
    c: &Chain,
    trust_condition: Option<&str>,
) -> String {
    let p = created(
        s.admin_post(
            "/federated-credential-providers",
            json!({"type": "pca", "name": name,
        "root_certificate": c.root_pem, "intermediate_certificates": [c.intermediate_pem],
        "trust_condition": trust_condition}),
        )
        .await,
    )
    .await;
    p["id"].as_str().unwrap().to_owned()
}

/// An agent or M2M application with one federated credential.
async fn client_with(s: &TestServer, collection: &str, cred: Value) -> (String, String) {
    let app = created(
        s.admin_post(
            &format!("/{collection}"),
            json!({"name": "pca-workload", "owner": "platform-team"}),
        )
        .await,
    )
    .await;
    let id = app["id"].as_str().unwrap();
    created(
        s.admin_post(&format!("/{collection}/{id}/federated-credentials"), cred)
            .await,
    )
    .await;
    (id.to_owned(), app["client_id"].as_str().unwrap().to_owned())
}

async fn pca_post(
    s: &TestServer,
    cid: &str,
    name: &str,
    assertion: &str,
    c: &Chain,
    scope: &str,
) -> reqwest::Response {
    s.http
        .post(s.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", cid),
            ("scope", scope),
            ("client_assertion_type", PCA),
            ("client_assertion", assertion),
            ("application_federated_credential_name", name),
            ("client_x509", &c.leaf_pem),
            ("client_x509_chain", &c.intermediate_pem),
        ])
        .send()
        .await
        .unwrap()
}

async fn error_of(r: reqwest::Response) -> (u16, String) {
    let st = r.status().as_u16();
    let b: Value = r.json().await.unwrap();
    (st, b["error"].as_str().unwrap_or_default().to_owned())
}

fn sub_of(t: &Value) -> String {
    jsonwebtoken::dangerous::insecure_decode::<Value>(t["access_token"].as_str().unwrap())
        .unwrap()
        .claims["sub"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn pca_certificate_gets_a_token_once_per_assertion(b: Backend) {
    let s = spawn(b).await;
    let chain = Chain::new(now(), &ChainOptions::default());
    let pid = pca_provider(&s, "corp-pca", &chain, None).await;
    for collection in ["agents", "m2m-applications"] {
        let (_, cid) = client_with(
            &s,
            collection,
            json!({"type": "pca", "provider_id": pid, "name": "pca-cert",
            "verification": {"mode": "certificate", "cn": "payments-agent"}}),
        )
        .await;
        let assertion = chain.assertion(&cid, &s.token_url(), now());
        let r = pca_post(
            &s,
            &cid,
            "pca-cert",
            &assertion,
            &chain,
            "urn:cloud:idaas:pam|.all",
        )
        .await;
        assert_eq!(r.status(), 200, "{collection}");
        assert_eq!(sub_of(&r.json().await.unwrap()), cid);
        // The same assertion again is a replay.
        let r = pca_post(
            &s,
            &cid,
            "pca-cert",
            &assertion,
            &chain,
            "urn:cloud:idaas:pam|.all",
        )
        .await;
        assert_eq!(
            error_of(r).await,
            (401, "invalid_client".into()),
            "{collection} replay"
        );
        // An assertion signed by another key, with this certificate, is refused.
        let other = Chain::new(now(), &ChainOptions::default());
        let forged = other.assertion(&cid, &s.token_url(), now());
        let r = pca_post(
            &s,
            &cid,
            "pca-cert",
            &forged,
            &chain,
            "urn:cloud:idaas:pam|.all",
        )
        .await;
        assert_eq!(
            error_of(r).await,
            (401, "invalid_client".into()),
            "{collection} forged"
        );
    }
    s.stop().await;
}

async fn pca_hostile_chains_issue_nothing(b: Backend) {
    let s = spawn(b).await;
    let variants = [
        (
            "expired",
            ChainOptions {
                leaf_expired: true,
                ..Default::default()
            },
            "has expired",
        ),
        (
            "not yet valid",
            ChainOptions {
                leaf_not_yet_valid: true,
                ..Default::default()
            },
            "not valid yet",
        ),
        (
            "CA:false intermediate",
            ChainOptions {
                intermediate_not_ca: true,
                ..Default::default()
            },
            "not a CA",
        ),
        (
            "wrong CN",
            ChainOptions {
                leaf_cn: "intruder".into(),
                ..Default::default()
            },
            "verification is false",
        ),
        (
            "unknown critical extension",
            ChainOptions {
                leaf_unknown_critical: true,
                ..Default::default()
            },
            "critical extension",
        ),
    ];
    for (i, (what, opts, why)) in variants.into_iter().enumerate() {
        let chain = Chain::new(now(), &opts);
        // A CA:false intermediate cannot be registered: the provider uses the
        // root only and the workload presents the bad intermediate itself.
        let pid = if opts.intermediate_not_ca {
            let good = Chain::new(now(), &ChainOptions::default());
            let p = created(s.admin_post("/federated-credential-providers", json!({"type": "pca", "name": format!("pca-{i}"),
                "root_certificate": chain.root_pem, "intermediate_certificates": [good.intermediate_pem]})).await).await;
            p["id"].as_str().unwrap().to_owned()
        } else {
            pca_provider(&s, &format!("pca-{i}"), &chain, None).await
        };
        let (_, cid) = client_with(
            &s,
            "agents",
            json!({"type": "pca", "provider_id": pid, "name": "pca-cert",
            "verification": {"mode": "certificate", "cn": "payments-agent"}}),
        )
        .await;
        let assertion = chain.assertion(&cid, &s.token_url(), now());
        // The dry run names the reason…
        let t: Value = s
            .admin_post(
                "/federated-credentials/test",
                json!({"client_id": cid, "client_assertion_type": PCA,
            "client_assertion": assertion, "application_federated_credential_name": "pca-cert",
            "client_x509": chain.leaf_pem, "client_x509_chain": chain.intermediate_pem}),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(t["passed"], false, "{what}: {t}");
        assert!(t.to_string().contains(why), "{what}: {t}");
        // …and the token endpoint issues nothing.
        let r = pca_post(
            &s,
            &cid,
            "pca-cert",
            &assertion,
            &chain,
            "urn:cloud:idaas:pam|.all",
        )
        .await;
        assert_eq!(error_of(r).await, (401, "invalid_client".into()), "{what}");
    }
    // A chain to another root.
    let registered = Chain::new(now(), &ChainOptions::default());
    let pid = pca_provider(&s, "pca-other-root", &registered, None).await;
    let (aid, cid) = client_with(
        &s,
        "agents",
        json!({"type": "pca", "provider_id": pid, "name": "pca-cert",
        "verification": {"mode": "certificate", "cn": "payments-agent"}}),
    )
    .await;
    let stranger = Chain::new(now(), &ChainOptions::default());
    let r = pca_post(
        &s,
        &cid,
        "pca-cert",
        &stranger.assertion(&cid, &s.token_url(), now()),
        &stranger,
        "urn:cloud:idaas:pam|.all",
    )
    .await;
    assert_eq!(
        error_of(r).await,
        (401, "invalid_client".into()),
        "another root"
    );
    // Disabled credential, then disabled provider.
    let good = registered.assertion(&cid, &s.token_url(), now());
    let creds: Value = s
        .admin_get(&format!("/agents/{aid}/federated-credentials"))
        .await
        .json()
        .await
        .unwrap();
    let fid = creds[0]["id"].as_str().unwrap();
    assert_eq!(
        s.admin_post(
            &format!("/agents/{aid}/federated-credentials/{fid}/disable"),
            json!({})
        )
        .await
        .status(),
        200
    );
    let r = pca_post(
        &s,
        &cid,
        "pca-cert",
        &good,
        &registered,
        "urn:cloud:idaas:pam|.all",
    )
    .await;
    assert_eq!(
        error_of(r).await,
        (401, "invalid_client".into()),
        "disabled credential"
    );
    assert_eq!(
        s.admin_post(
            &format!("/agents/{aid}/federated-credentials/{fid}/enable"),
            json!({})
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        s.admin_post(
            &format!("/federated-credential-providers/{pid}/disable"),
            json!({})
        )
        .await
        .status(),
        200
    );
    let r = pca_post(
        &s,
        &cid,
        "pca-cert",
        &good,
        &registered,
        "urn:cloud:idaas:pam|.all",
    )
    .await;
    assert_eq!(
        error_of(r).await,
        (401, "invalid_client".into()),
        "disabled provider"
    );
    assert_eq!(
        s.admin_post(
            &format!("/federated-credential-providers/{pid}/enable"),
            json!({})
        )
        .await
        .status(),
        200
    );
    let r = pca_post(
        &s,
        &cid,
        "pca-cert",
        &good,
        &registered,
        "urn:cloud:idaas:pam|.all",
    )
    .await;
    assert_eq!(r.status(), 200, "re-enabled");
    // Bad provider input: a 400 naming the field.
    let r = s.admin_post("/federated-credential-providers", json!({"type": "pca", "name": "no-intermediates", "root_certificate": registered.root_pem})).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("intermediate"));
    s.stop().await;
}

async fn expression_mapping_and_custom_subject(b: Backend) {
    let s = spawn(b).await;
    let chain = Chain::new(now(), &ChainOptions::default());
    let pid = pca_provider(
        &s,
        "corp-pca",
        &chain,
        Some("cert.issuer.CN == 'Test Intermediate CA'"),
    )
    .await;
    let (_, cid) = client_with(&s, "m2m-applications", json!({"type": "pca", "provider_id": pid, "name": "spiffe",
        "verification": {"mode": "expression",
            "expression": "cert.san.uri.exists(u, u == 'spiffe://corp/payments/agent') && cert.subject.OU == 'payments' && client.clientId != ''"},
        "attribute_mapping": "cert.san.uri[0]"})).await;
    // A resource server with custom subject identity, and one without.
    for (aud, custom) in [
        ("https://api.corp/payments", true),
        ("https://api.corp/plain", false),
    ] {
        let rs = created(
            s.admin_post(
                "/resource-servers",
                json!({"name": aud, "audience": aud, "permissions": ["read"],
            "custom_subject_identity": custom}),
            )
            .await,
        )
        .await;
        created(
            s.admin_post(
                &format!("/resource-servers/{}/grants", rs["id"].as_str().unwrap()),
                json!({"client_id": cid, "permissions": [".all"]}),
            )
            .await,
        )
        .await;
    }
    let r = pca_post(
        &s,
        &cid,
        "spiffe",
        &chain.assertion(&cid, &s.token_url(), now()),
        &chain,
        "https://api.corp/payments|read",
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        sub_of(&r.json().await.unwrap()),
        format!("{cid}:spiffe://corp/payments/agent")
    );
    let r = pca_post(
        &s,
        &cid,
        "spiffe",
        &chain.assertion(&cid, &s.token_url(), now()),
        &chain,
        "https://api.corp/plain|read",
    )
    .await;
    assert_eq!(sub_of(&r.json().await.unwrap()), cid);

    // The dry run: every check with its outcome, the subject, and no jti used.
    let assertion = chain.assertion(&cid, &s.token_url(), now());
    let t: Value = s
        .admin_post(
            "/federated-credentials/test",
            json!({"client_id": cid, "client_assertion_type": PCA,
        "client_assertion": assertion, "application_federated_credential_name": "spiffe",
        "client_x509": chain.leaf_pem, "client_x509_chain": chain.intermediate_pem}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["passed"], true, "{t}");
    assert_eq!(t["subject"], format!("{cid}:spiffe://corp/payments/agent"));
    let names: Vec<&str> = t["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "client",
            "credential",
            "enabled",
            "certificate_chain",
            "signature",
            "trust_condition",
            "verification",
            "attribute_mapping"
        ]
    );
    let r = pca_post(
        &s,
        &cid,
        "spiffe",
        &assertion,
        &chain,
        "urn:cloud:idaas:pam|.all",
    )
    .await;
    assert_eq!(r.status(), 200, "the dry run did not use up the jti");

    // Expressions are checked on save, with the position.
    let r = s
        .admin_post(
            "/federated-credential-providers",
            json!({"type": "pca", "name": "bad-condition",
        "root_certificate": chain.root_pem, "intermediate_certificates": [chain.intermediate_pem],
        "trust_condition": "cert.issuer.CN == "}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("line 1"));
    let app = created(
        s.admin_post(
            "/agents",
            json!({"name": "exprs", "owner": "platform-team"}),
        )
        .await,
    )
    .await;
    let aid = app["id"].as_str().unwrap();
    for (expr, why) in [
        (
            "jwt.claims.sub == 'x' && pkcs7.payload.jsonData.a == 'b'",
            "unknown field 'pkcs7'",
        ),
        (&"x".repeat(10_241)[..], "10240"),
    ] {
        let r = s
            .admin_post(
                &format!("/agents/{aid}/federated-credentials"),
                json!({"type": "pca", "provider_id": pid, "name": "e",
            "verification": {"mode": "expression", "expression": expr}}),
            )
            .await;
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains(why), "{why}");
    }
    s.stop().await;
}

async fn pkcs7_post(s: &TestServer, cid: &str, doc: &str) -> reqwest::Response {
    s.http
        .post(s.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", cid),
            ("scope", "urn:cloud:idaas:pam|.all"),
            ("client_assertion_type", PKCS7),
            ("client_assertion", doc),
            ("application_federated_credential_name", "instance"),
        ])
        .send()
        .await
        .unwrap()
}

/// The `clientDeployEnvironment` of the client's PKCS7 SDK configuration.
async fn deploy_environment(s: &TestServer, client_path: &str) -> String {
    let r = s
        .admin_get(&format!(
            "{client_path}/sdk-config?authn_method=PKCS7&federated_credential_name=instance"
        ))
        .await;
    let st = r.status();
    let config: Value = r.json().await.unwrap();
    assert_eq!(st, 200, "{config}");
    config["authnConfiguration"]["clientDeployEnvironment"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn pkcs7_documents_from_both_clouds(b: Backend) {
    let s = spawn(b).await;
    let instance: Value = s.admin_get("/issuer").await.json().await.unwrap();
    let instance = instance["instance_id"].as_str().unwrap().to_owned();

    // Alibaba ECS: RSA, audience = this Writ instance.
    let ecs = CloudSigner::new(KeyKind::Rsa);
    let p = created(s.admin_post("/federated-credential-providers", json!({"type": "pkcs7", "name": "ecs",
        "trust_source": "alibaba_cloud_ecs", "verification_certificate": ecs.cert_pem, "account_id": "1234567"})).await).await;
    let (ecs_app, cid) = client_with(
        &s,
        "agents",
        json!({"type": "pkcs7", "provider_id": p["id"], "name": "instance",
        "verification": {"mode": "cloud_server", "instance_id": "i-bp1abc"}}),
    )
    .await;
    assert_eq!(
        deploy_environment(&s, &format!("/agents/{ecs_app}")).await,
        "ALIBABA_CLOUD_ECS"
    );
    let doc = |aud: &str, instance_id: &str| {
        json!({"instance-id": instance_id, "owner-account-id": "1234567", "region-id": "cn-hangzhou",
        "audience": json!({"aud": aud, "signingTime": now()}).to_string()}).to_string()
    };
    let r = pkcs7_post(&s, &cid, &ecs.sign(&doc(&instance, "i-bp1abc"))).await;
    assert_eq!(r.status(), 200);
    for (what, d) in [
        ("other instance", ecs.sign(&doc(&instance, "i-bp1xyz"))),
        (
            "other audience",
            ecs.sign(&doc("idaas_someone_else", "i-bp1abc")),
        ),
        (
            "other signer",
            CloudSigner::new(KeyKind::Rsa).sign(&doc(&instance, "i-bp1abc")),
        ),
        (
            "forged",
            ecs.sign_then_swap_content(
                &doc(&instance, "i-bp1abc"),
                &doc(&instance, "i-bp1abc").replace("i-bp1abc", "i-bp1evl"),
            ),
        ),
        ("not a document", "bm90IGEgZG9jdW1lbnQ=".into()),
    ] {
        assert_eq!(
            error_of(pkcs7_post(&s, &cid, &d).await).await,
            (401, "invalid_client".into()),
            "{what}"
        );
    }

    // AWS EC2: DSA-SHA1, no audience; the instance ID in expression mode.
    let ec2 = CloudSigner::new(KeyKind::Dsa);
    let p = created(s.admin_post("/federated-credential-providers", json!({"type": "pkcs7", "name": "ec2",
        "trust_source": "aws_ec2", "verification_certificate": ec2.cert_pem, "account_id": "123456789012"})).await).await;
    let (ec2_app, cid) = client_with(&s, "m2m-applications", json!({"type": "pkcs7", "provider_id": p["id"], "name": "instance",
        "verification": {"mode": "expression", "expression": "pkcs7.payload.jsonData.instanceId == 'i-0abc' && pkcs7.payload.jsonData.region == 'eu-west-1'"}})).await;
    // Its SDK configuration names the cloud it runs on, with no hand edit.
    assert_eq!(
        deploy_environment(&s, &format!("/m2m-applications/{ec2_app}")).await,
        "AWS_EC2"
    );
    // Launched an hour ago: AWS documents expire a maximum age after launch.
    let launched = time::OffsetDateTime::from_unix_timestamp(now() - 3600)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let aws = |region: &str| {
        json!({"accountId": "123456789012", "instanceId": "i-0abc", "region": region,
        "pendingTime": launched})
        .to_string()
    };
    let r = pkcs7_post(&s, &cid, &ec2.sign(&aws("eu-west-1"))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        error_of(pkcs7_post(&s, &cid, &ec2.sign(&aws("us-east-1"))).await).await,
        (401, "invalid_client".into())
    );
    s.stop().await;
}
