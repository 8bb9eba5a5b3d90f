//! The lifecycle every admin resource shares: enabled or disabled, and
//! deleted only once disabled (so a delete is never the first step of an
//! outage), together with what hangs off it, in one transaction. Each
//! resource says only what differs: its name, its flag, its dependents,
//! and how the admin change log names and shows it (`audit_log.rs`): every
//! enable, disable and delete is recorded in its own transaction.

use crate::entities::{
    client, client_public_key, client_secret, credential, credential_grant, credential_provider,
    federated_credential, federated_provider, permission_grant, resource_server,
    user_identity_provider,
};
use crate::error::Result;
use crate::service::Writ;
use crate::service::admin::audit_log::{Change, snapshot, with_field};
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
    /// The admin change log's name for the resource (`agent`, `secret`).
    fn audit_type(m: &Self::Model) -> &'static str;
    fn audit_id(m: &Self::Model) -> &str;
    /// The resource as the change log keeps it: its view, never a secret.
    fn snapshot(w: &Writ, m: &Self::Model) -> serde_json::Value;
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
        let change = Change::new(
            E::audit_type(&m),
            if enabled { "enable" } else { "disable" },
            E::audit_id(&m),
        )
        .before(E::snapshot(self, &m));
        let mut am = m.into_active_model();
        E::set_enabled(&mut am, enabled, self.now());
        let tx = self.db.begin().await?;
        let m = am.update(&tx).await?;
        self.record_change(&tx, change.after(E::snapshot(self, &m)))
            .await?;
        tx.commit().await?;
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
        let change =
            Change::new(E::audit_type(&m), "delete", E::audit_id(&m)).before(E::snapshot(self, &m));
        let tx = self.db.begin().await?;
        E::before_delete(&tx, &m).await?;
        m.into_active_model().delete(&tx).await?;
        self.record_change(&tx, change).await?;
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
    ($entity:ident, $what:literal, $audit:literal, $view:path) => {
        impl Lifecycle for $entity::Entity {
            const WHAT: &'static str = $what;
            fn is_enabled(m: &$entity::Model) -> bool {
                m.enabled
            }
            fn set_enabled(am: &mut $entity::ActiveModel, enabled: bool, _now: i64) {
                am.enabled = Set(enabled);
            }
            fn audit_type(_: &$entity::Model) -> &'static str {
                $audit
            }
            fn audit_id(m: &$entity::Model) -> &str {
                &m.id
            }
            /// Its view, with the client it belongs to.
            fn snapshot(_: &Writ, m: &$entity::Model) -> serde_json::Value {
                with_field(
                    snapshot(&$view(m.clone())),
                    "client_pk",
                    m.client_pk.clone(),
                )
            }
        }
        impl ClientOwned for $entity::Entity {
            fn client_pk(m: &$entity::Model) -> &str {
                &m.client_pk
            }
        }
    };
}

flag_only!(
    client_secret,
    "client secret",
    "secret",
    super::clients::secret_view
);
flag_only!(
    client_public_key,
    "public key",
    "public_key",
    super::public_keys::view
);
flag_only!(
    federated_credential,
    "federated credential",
    "federated_credential",
    super::federation::credential_view
);

impl Lifecycle for credential::Entity {
    const WHAT: &'static str = "credential";
    fn is_enabled(m: &credential::Model) -> bool {
        m.enabled
    }
    fn set_enabled(am: &mut credential::ActiveModel, enabled: bool, now: i64) {
        am.enabled = Set(enabled);
        am.updated_at = Set(now);
    }
    fn audit_type(_: &credential::Model) -> &'static str {
        "credential"
    }
    fn audit_id(m: &credential::Model) -> &str {
        &m.id
    }
    fn snapshot(_: &Writ, m: &credential::Model) -> serde_json::Value {
        snapshot(&super::credentials::view(m.clone()))
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
    fn audit_type(_: &credential_provider::Model) -> &'static str {
        "credential_provider"
    }
    fn audit_id(m: &credential_provider::Model) -> &str {
        &m.id
    }
    fn snapshot(w: &Writ, m: &credential_provider::Model) -> serde_json::Value {
        snapshot(&w.provider_view(m.clone()))
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
    fn audit_type(_: &federated_provider::Model) -> &'static str {
        "federated_provider"
    }
    fn audit_id(m: &federated_provider::Model) -> &str {
        &m.id
    }
    fn snapshot(_: &Writ, m: &federated_provider::Model) -> serde_json::Value {
        snapshot(&super::federation::provider_view(m.clone()))
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
    /// `agent` or `m2m_application`.
    fn audit_type(m: &client::Model) -> &'static str {
        super::clients::audit_type(&m.kind)
    }
    fn audit_id(m: &client::Model) -> &str {
        &m.id
    }
    fn snapshot(_: &Writ, m: &client::Model) -> serde_json::Value {
        snapshot(&super::clients::view(m.clone()))
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
    fn audit_type(_: &resource_server::Model) -> &'static str {
        "resource_server"
    }
    fn audit_id(m: &resource_server::Model) -> &str {
        &m.id
    }
    fn snapshot(_: &Writ, m: &resource_server::Model) -> serde_json::Value {
        snapshot(&super::resource_servers::view(m.clone()))
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
    fn audit_type(_: &user_identity_provider::Model) -> &'static str {
        "user_identity_provider"
    }
    fn audit_id(m: &user_identity_provider::Model) -> &str {
        &m.id
    }
    fn snapshot(_: &Writ, m: &user_identity_provider::Model) -> serde_json::Value {
        snapshot(&super::user_identity_providers::view(m.clone()))
    }
}
