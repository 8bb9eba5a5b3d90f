//! Public keys for `private_key_jwt`, and single-use assertion ids.

use crate::entities::client_public_key;
use crate::error::{Result, ServiceError, conflict_on_unique};
use crate::service::admin::audit_log::{Change, snapshot, with_field};
use crate::service::{Writ, new_id};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use writ_core::public_key::ClientPublicKey;
use writ_types::{NewPublicKey, PublicKeyView};

pub(crate) fn view(m: client_public_key::Model) -> PublicKeyView {
    PublicKeyView {
        id: m.id,
        kid: m.kid,
        key_type: m.description,
        enabled: m.enabled,
        created_at: m.created_at,
        last_used_at: m.last_used_at,
    }
}

impl Writ {
    pub async fn add_public_key(
        &self,
        client_pk: &str,
        input: NewPublicKey,
    ) -> Result<PublicKeyView> {
        let c = self.client_model(client_pk).await?;
        let key = match (
            input.pem.as_deref().filter(|p| !p.trim().is_empty()),
            input.jwk,
        ) {
            (Some(pem), None) => ClientPublicKey::parse(pem)?,
            (None, Some(jwk)) => ClientPublicKey::from_jwk(&jwk)?,
            _ => {
                return Err(ServiceError::Invalid(
                    "public key: give exactly one of 'pem' or 'jwk'".into(),
                ));
            }
        };
        let tx = self.db.begin().await?;
        let m = client_public_key::ActiveModel {
            id: Set(new_id()),
            client_pk: Set(c.id.clone()),
            kid: Set(key.kid().to_owned()),
            jwk: Set(key.to_jwk().to_string()),
            description: Set(key.describe()),
            enabled: Set(true),
            created_at: Set(self.now()),
            last_used_at: Set(None),
        }
        .insert(&tx)
        .await
        .map_err(|e| {
            conflict_on_unique(e, "this public key is already registered for this client")
        })?;
        let v = view(m);
        let after = with_field(snapshot(&v), "client_pk", c.id);
        self.record_change(&tx, Change::new("public_key", "create", &v.id).after(after))
            .await?;
        tx.commit().await?;
        self.changed();
        Ok(v)
    }

    pub async fn list_public_keys(&self, client_pk: &str) -> Result<Vec<PublicKeyView>> {
        self.client_model(client_pk).await?;
        Ok(client_public_key::Entity::find()
            .filter(client_public_key::Column::ClientPk.eq(client_pk))
            .order_by_desc(client_public_key::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    pub async fn set_public_key_enabled(
        &self,
        client_pk: &str,
        key_id: &str,
        enabled: bool,
    ) -> Result<PublicKeyView> {
        let k = self
            .client_owned::<client_public_key::Entity>(client_pk, key_id)
            .await?;
        Ok(view(
            self.set_enabled::<client_public_key::Entity>(k, enabled)
                .await?,
        ))
    }

    pub async fn delete_public_key(&self, client_pk: &str, key_id: &str) -> Result<()> {
        let k = self
            .client_owned::<client_public_key::Entity>(client_pk, key_id)
            .await?;
        self.delete_disabled::<client_public_key::Entity>(k).await
    }
}
