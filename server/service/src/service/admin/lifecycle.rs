//! The lifecycle every admin resource shares: enabled or disabled, and
//! deleted only once disabled (so a delete is never the first step of an
//! outage), together with what hangs off it, in one transaction. Each
//! resource says only what differs: its name, its flag, its dependents.

use crate::entities::{
    client, client_public_key, client_secret, credential, credential_grant, credential_provider,
    federated_credential, federated_provider, permission_grant, resource_server,
    user_identity_provider,
};
use crate::error::Result;
use crate::service::Writ;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, Set, TransactionTrait,
};

/// A resource with an enabled flag and the delete-only-when-disabled rule.
pub(crate) trait Lifecycle: EntityTrait
where
    Self::Model: IntoActiveModel<Self::ActiveModel> + Send + Sync,
    Self::ActiveModel: ActiveModelBehavior + Send,
{
    /// What the admin reads in messages ("public key").
    const WHAT: &'static str;
    fn is_enabled(m: &Self::Model) -> bool;
    /// Sets the flag (and `updated_at`, where the table keeps one).
    fn set_enabled(am: &mut Self::ActiveModel, enabled: bool, now: i64);
    /// Runs in the delete's transaction before `m` goes: deletes the rows
    /// that hang off it (grants, tokens), or refuses while others use it.
    fn before_delete(
        _tx: &DatabaseTransaction,
        _m: &Self::Model,
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}

impl Writ {
    /// Enables or disables `m`; the token endpoint's caches drop at once.
    pub(crate) async fn set_enabled<E>(&self, m: E::Model, enabled: bool) -> Result<E::Model>
    where
        E: Lifecycle,
        E::Model: IntoActiveModel<E::ActiveModel> + Send + Sync,
        E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
    {
        let mut am = m.into_active_model();
        E::set_enabled(&mut am, enabled, self.now());
        let m = am.update(&self.db).await?;
        self.changed();
        Ok(m)
    }

    /// Deletes `m` once it is disabled, with its dependents, atomically.
    pub(crate) async fn delete_disabled<E>(&self, m: E::Model) -> Result<()>
    where
        E: Lifecycle,
        E::Model: IntoActiveModel<E::ActiveModel> + Send + Sync,
        E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
    {
        ensure_disabled(E::is_enabled(&m), E::WHAT)?;
        let tx = self.db.begin().await?;
        E::before_delete(&tx, &m).await?;
        m.into_active_model().delete(&tx).await?;
        tx.commit().await?;
        self.changed();
        Ok(())
    }
}

/// One rule, one message.
fn ensure_disabled(enabled: bool, what: &str) -> Result<()> {
    if enabled {
        return Err(crate::ServiceError::Conflict(format!(
            "disable the {what} before deleting it"
        )));
    }
    Ok(())
}

/// A row that belongs to one client (its secrets, keys, federated
/// credentials): found only through that client, so one client's id never
/// reaches another's row.
pub(crate) trait ClientOwned: Lifecycle
where
    Self::Model: IntoActiveModel<Self::ActiveModel> + Send + Sync,
    Self::ActiveModel: ActiveModelBehavior + Send,
{
    fn client_pk(m: &Self::Model) -> &str;
}

impl Writ {
    /// The client's row `id`, or "<what> not found".
    pub(crate) async fn client_owned<E>(&self, client_pk: &str, id: &str) -> Result<E::Model>
    where
        E: ClientOwned,
        E::Model: IntoActiveModel<E::ActiveModel> + Send + Sync,
        E::ActiveModel: ActiveModelBehavior + Send,
        String: Into<<E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType>,
    {
        E::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .filter(|m| E::client_pk(m) == client_pk)
            .ok_or(crate::ServiceError::NotFound(E::WHAT))
    }
}

/// Client-owned tables with just the flag (no `updated_at`, nothing
/// hanging off them).
macro_rules! flag_only {
    ($entity:ident, $what:literal) => {
        impl Lifecycle for $entity::Entity {
            const WHAT: &'static str = $what;
            fn is_enabled(m: &$entity::Model) -> bool {
                m.enabled
            }
            fn set_enabled(am: &mut $entity::ActiveModel, enabled: bool, _now: i64) {
                am.enabled = Set(enabled);
            }
        }
        impl ClientOwned for $entity::Entity {
            fn client_pk(m: &$entity::Model) -> &str {
                &m.client_pk
            }
        }
    };
}

flag_only!(client_secret, "client secret");
flag_only!(client_public_key, "public key");
flag_only!(federated_credential, "federated credential");

impl Lifecycle for credential::Entity {
    const WHAT: &'static str = "credential";
    fn is_enabled(m: &credential::Model) -> bool {
        m.enabled
    }
    fn set_enabled(am: &mut credential::ActiveModel, enabled: bool, now: i64) {
        am.enabled = Set(enabled);
        am.updated_at = Set(now);
    }
    async fn before_delete(tx: &DatabaseTransaction, m: &credential::Model) -> Result<()> {
        credential_grant::Entity::delete_many()
            .filter(credential_grant::Column::CredentialId.eq(m.id.as_str()))
            .exec(tx)
            .await?;
        Ok(())
    }
}

impl Lifecycle for credential_provider::Entity {
    const WHAT: &'static str = "credential provider";
    fn is_enabled(m: &credential_provider::Model) -> bool {
        m.enabled
    }
    fn set_enabled(am: &mut credential_provider::ActiveModel, enabled: bool, now: i64) {
        am.enabled = Set(enabled);
        am.updated_at = Set(now);
    }
    async fn before_delete(tx: &DatabaseTransaction, m: &credential_provider::Model) -> Result<()> {
        use crate::entities::{authentication_token, oauth_session, oauth_token, provider_grant};
        provider_grant::Entity::delete_many()
            .filter(provider_grant::Column::ProviderId.eq(m.id.as_str()))
            .exec(tx)
            .await?;
        authentication_token::Entity::delete_many()
            .filter(authentication_token::Column::ProviderId.eq(m.id.as_str()))
            .exec(tx)
            .await?;
        oauth_token::Entity::delete_many()
            .filter(oauth_token::Column::ProviderId.eq(m.id.as_str()))
            .exec(tx)
            .await?;
        oauth_session::Entity::delete_many()
            .filter(oauth_session::Column::ProviderId.eq(m.id.as_str()))
            .exec(tx)
            .await?;
        Ok(())
    }
}

impl Lifecycle for federated_provider::Entity {
    const WHAT: &'static str = "provider";
    fn is_enabled(m: &federated_provider::Model) -> bool {
        m.enabled
    }
    fn set_enabled(am: &mut federated_provider::ActiveModel, enabled: bool, _now: i64) {
        am.enabled = Set(enabled);
    }
    /// A provider goes only once no federated credential uses it.
    async fn before_delete(tx: &DatabaseTransaction, m: &federated_provider::Model) -> Result<()> {
        use sea_orm::PaginatorTrait;
        let users = federated_credential::Entity::find()
            .filter(federated_credential::Column::ProviderId.eq(m.id.as_str()))
            .count(tx)
            .await?;
        if users > 0 {
            return Err(crate::ServiceError::Conflict(format!(
                "{users} federated credential(s) still use this provider: delete them first"
            )));
        }
        Ok(())
    }
}

impl Lifecycle for client::Entity {
    const WHAT: &'static str = "client";
    fn is_enabled(m: &client::Model) -> bool {
        m.enabled
    }
    fn set_enabled(am: &mut client::ActiveModel, enabled: bool, _now: i64) {
        am.enabled = Set(enabled);
    }
    /// Everything that belongs to the client goes with it; audit records
    /// (keyed by `client_id`, not a foreign key) stay, as history must.
    async fn before_delete(tx: &DatabaseTransaction, m: &client::Model) -> Result<()> {
        use crate::entities::{authentication_token, oauth_session, oauth_token, provider_grant};
        let pk = m.id.as_str();
        client_secret::Entity::delete_many()
            .filter(client_secret::Column::ClientPk.eq(pk))
            .exec(tx)
            .await?;
        client_public_key::Entity::delete_many()
            .filter(client_public_key::Column::ClientPk.eq(pk))
            .exec(tx)
            .await?;
        federated_credential::Entity::delete_many()
            .filter(federated_credential::Column::ClientPk.eq(pk))
            .exec(tx)
            .await?;
        permission_grant::Entity::delete_many()
            .filter(permission_grant::Column::ClientPk.eq(pk))
            .exec(tx)
            .await?;
        credential_grant::Entity::delete_many()
            .filter(credential_grant::Column::ClientPk.eq(pk))
            .exec(tx)
            .await?;
        provider_grant::Entity::delete_many()
            .filter(provider_grant::Column::ClientPk.eq(pk))
            .exec(tx)
            .await?;
        // Tokens Writ fetched or minted for it through credential providers.
        let consumer = m.client_id.as_str();
        authentication_token::Entity::delete_many()
            .filter(authentication_token::Column::ConsumerId.eq(consumer))
            .exec(tx)
            .await?;
        oauth_token::Entity::delete_many()
            .filter(oauth_token::Column::ConsumerId.eq(consumer))
            .exec(tx)
            .await?;
        oauth_session::Entity::delete_many()
            .filter(oauth_session::Column::ConsumerId.eq(consumer))
            .exec(tx)
            .await?;
        Ok(())
    }
}

impl Lifecycle for resource_server::Entity {
    const WHAT: &'static str = "resource server";
    fn is_enabled(m: &resource_server::Model) -> bool {
        m.enabled
    }
    fn set_enabled(am: &mut resource_server::ActiveModel, enabled: bool, _now: i64) {
        am.enabled = Set(enabled);
    }
    async fn before_delete(tx: &DatabaseTransaction, m: &resource_server::Model) -> Result<()> {
        permission_grant::Entity::delete_many()
            .filter(permission_grant::Column::ResourceServerId.eq(m.id.as_str()))
            .exec(tx)
            .await?;
        Ok(())
    }
}

/// Nothing hangs off a user identity provider: people's tokens are not stored.
impl Lifecycle for user_identity_provider::Entity {
    const WHAT: &'static str = "user identity provider";
    fn is_enabled(m: &user_identity_provider::Model) -> bool {
        m.enabled
    }
    fn set_enabled(am: &mut user_identity_provider::ActiveModel, enabled: bool, _now: i64) {
        am.enabled = Set(enabled);
    }
}
