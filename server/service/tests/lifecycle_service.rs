//! The lifecycle every admin resource shares (`service/admin/lifecycle.rs`)
//! on a real SQLite file: delete only once disabled, dependents removed in
//! the same transaction, and a disable that takes effect on the next token
//! request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{PAM_ALL, agent, dto, open, refusal, secret_post};
use sea_orm::{Database, EntityTrait, PaginatorTrait};
use serde_json::json;
use writ_service::ServiceError;
use writ_service::entities::credential_grant;

fn conflict_message(e: ServiceError) -> String {
    match e {
        ServiceError::Conflict(m) => m,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn a_secret_is_deleted_only_once_disabled_and_a_disable_bites_at_once() {
    let w = open().await;
    let a = agent(&w, "billing-agent").await;
    let s = w.add_client_secret(&a.id, false).await.unwrap();
    let id = s.id.clone();
    // Warm the token endpoint's cache with this client.
    w.token(secret_post(&a.client_id, &s.client_secret, PAM_ALL))
        .await
        .unwrap();

    let refused = w.delete_client_secret(&a.id, &id).await.unwrap_err();
    assert_eq!(
        conflict_message(refused),
        "disable the client secret before deleting it"
    );
    assert_eq!(w.list_client_secrets(&a.id).await.unwrap().len(), 1);

    let v = w
        .set_client_secret_enabled(&a.id, &id, false)
        .await
        .unwrap();
    assert!(!v.enabled);
    // The next request already sees it: no cached decision survives.
    let r = w
        .token(secret_post(&a.client_id, &s.client_secret, PAM_ALL))
        .await;
    assert_eq!(refusal(r), ("invalid_client", "no_enabled_secret"));

    w.delete_client_secret(&a.id, &id).await.unwrap();
    assert!(w.list_client_secrets(&a.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_vault_credential_goes_with_its_grants_in_one_step() {
    let w = open().await;
    let a = agent(&w, "support-agent").await;
    let c = w
        .create_credential(dto(json!({"name": "openai", "business_type": "llm",
            "identifier": "openai-prod", "api_key": "sk-test-0123456789"})))
        .await
        .unwrap();
    w.grant_credential(&c.id, &a.client_id).await.unwrap();

    let refused = w.delete_credential(&c.id).await.unwrap_err();
    assert_eq!(
        conflict_message(refused),
        "disable the credential before deleting it"
    );
    let db = Database::connect(&w.database_url).await.unwrap();
    assert_eq!(
        credential_grant::Entity::find().count(&db).await.unwrap(),
        1
    );

    w.set_credential_enabled(&c.id, false).await.unwrap();
    w.delete_credential(&c.id).await.unwrap();
    assert!(w.get_credential(&c.id).await.is_err());
    assert_eq!(
        credential_grant::Entity::find().count(&db).await.unwrap(),
        0,
        "the grant went with the credential"
    );
}

#[tokio::test]
async fn an_agent_is_registered_with_any_of_the_five_authentication_types() {
    let w = open().await;
    for t in ["client_secret", "private_key_jwt", "pca", "oidc", "pkcs7"] {
        let a = w
            .create_agent(dto(
                json!({"name": format!("agent-{t}"), "owner": "ops", "auth_type": t}),
            ))
            .await
            .unwrap();
        assert_eq!(a.auth_type, t);
    }
    let default = agent(&w, "defaulted").await;
    assert_eq!(default.auth_type, "client_secret");
    let refused = w
        .create_agent(dto(
            json!({"name": "x", "owner": "ops", "auth_type": "password"}),
        ))
        .await
        .unwrap_err();
    assert!(matches!(refused, ServiceError::Invalid(ref m) if m.contains("auth_type")));
}

#[tokio::test]
async fn a_client_lists_and_loses_its_vault_and_provider_grants() {
    let w = open().await;
    let a = agent(&w, "reach-agent").await;
    let c = w
        .create_credential(dto(json!({"name": "OpenAI", "business_type": "llm",
            "identifier": "openai", "api_key": "sk-test"})))
        .await
        .unwrap();
    w.grant_credential(&c.id, &a.client_id).await.unwrap();
    let p = w
        .create_credential_provider(dto(json!({"type": "jwt", "name": "Partner",
            "identifier": "partner", "issuer_whitelist": ["https://partner.example"]})))
        .await
        .unwrap();
    w.grant_credential_provider(&p.id, &a.client_id)
        .await
        .unwrap();

    let reach = w.asset_grants_of_client(&a.id).await.unwrap();
    let kinds: Vec<(&str, &str)> = reach
        .iter()
        .map(|g| (g.kind.as_str(), g.target_name.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [("credential", "OpenAI"), ("credential_provider", "Partner")]
    );

    w.revoke_credential_grant(&c.id, &reach[0].grant_id)
        .await
        .unwrap();
    w.revoke_provider_grant(&p.id, &reach[1].grant_id)
        .await
        .unwrap();
    assert!(w.asset_grants_of_client(&a.id).await.unwrap().is_empty());
    assert!(w.list_provider_grants(&p.id).await.unwrap().is_empty());
    // A second revoke, or one through the wrong provider, finds nothing.
    assert!(matches!(
        w.revoke_provider_grant(&p.id, &reach[1].grant_id).await,
        Err(ServiceError::NotFound(_))
    ));
}
