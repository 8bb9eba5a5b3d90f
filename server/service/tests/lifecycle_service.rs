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
