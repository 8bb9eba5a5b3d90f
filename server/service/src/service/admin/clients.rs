//! Agents and M2M applications (one client model), their secrets, and the
//! SDK configuration generated for them.

use crate::entities::{client, client_secret, permission_grant, resource_server};
use crate::error::{Result, ServiceError, conflict_on_unique};
use crate::service::admin::audit_log::{Change, snapshot, with_field};
use crate::service::{Writ, new_id};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use writ_core::names::{Description, DisplayName};
use writ_core::sdk_config::{self, SdkAuthnMethod};
use writ_core::secret;
use writ_types::{
    ClientKind, ClientUpdate, ClientView, NewAgent, NewM2mApplication, NewSecret, SdkConfigView,
    SecretView,
};

pub const AUTH_CLIENT_SECRET: &str = "client_secret";

/// The authentication types an agent may be registered with: which method
/// the console sets up first. Stored as given; any client may still add the
/// others later (the type picks the first tab, it does not restrict).
pub const AUTH_TYPES: [&str; 5] = [
    AUTH_CLIENT_SECRET,
    "private_key_jwt",
    "pca",
    "oidc",
    "pkcs7",
];

/// What the admin reads in "not found" messages.
fn kind_name(kind: ClientKind) -> &'static str {
    match kind {
        ClientKind::Agent => "agent",
        ClientKind::M2m => "M2M application",
    }
}

/// The admin change log's resource type for a client of `kind`.
pub(crate) fn audit_type(kind: &str) -> &'static str {
    match ClientKind::parse(kind) {
        Some(ClientKind::Agent) => "agent",
        _ => "m2m_application",
    }
}

pub(crate) fn view(m: client::Model) -> ClientView {
    ClientView {
        kind: ClientKind::parse(&m.kind).unwrap_or(ClientKind::M2m),
        id: m.id,
        client_id: m.client_id,
        agent_id: m.agent_id,
        name: m.name,
        owner: m.owner,
        description: m.description,
        auth_type: m.auth_type,
        enabled: m.enabled,
        created_at: m.created_at,
    }
}

pub(crate) fn secret_view(m: client_secret::Model) -> SecretView {
    SecretView {
        id: m.id,
        hint: m.hint,
        enabled: m.enabled,
        created_at: m.created_at,
        last_used_at: m.last_used_at,
    }
}

impl Writ {
    pub async fn create_agent(&self, input: NewAgent) -> Result<ClientView> {
        let name = DisplayName::parse("agent name", &input.name)?;
        let owner = DisplayName::parse("owner", &input.owner)?;
        let description = Description::parse(input.description.as_deref().unwrap_or_default())?;
        let auth_type = input
            .auth_type
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(AUTH_CLIENT_SECRET);
        let Some(auth_type) = AUTH_TYPES.into_iter().find(|t| *t == auth_type) else {
            return Err(ServiceError::Invalid(format!(
                "auth_type: use one of {}",
                AUTH_TYPES.join(", ")
            )));
        };
        self.insert_client(ClientKind::Agent, name, Some(owner), description, auth_type)
            .await
    }

    pub async fn create_m2m_application(&self, input: NewM2mApplication) -> Result<ClientView> {
        let name = DisplayName::parse("application name", &input.name)?;
        let description = Description::parse(input.description.as_deref().unwrap_or_default())?;
        self.insert_client(ClientKind::M2m, name, None, description, AUTH_CLIENT_SECRET)
            .await
    }

    /// Inserts the client and its default grant of `urn:cloud:idaas:pam|.all`
    /// in one transaction, so a new client can fetch a PAM token at once.
    async fn insert_client(
        &self,
        kind: ClientKind,
        name: DisplayName,
        owner: Option<DisplayName>,
        description: Description,
        auth_type: &str,
    ) -> Result<ClientView> {
        let now = self.now();
        let pam = resource_server::Entity::find()
            .filter(resource_server::Column::Audience.eq(writ_core::PAM_AUDIENCE))
            .one(&self.db)
            .await?
            .ok_or(ServiceError::Internal)?;
        let model = client::ActiveModel {
            id: Set(new_id()),
            client_id: Set(format!("app_{}", writ_core::random::alnum(24))),
            kind: Set(kind.as_str().into()),
            name: Set(name.into_inner()),
            owner: Set(owner.map(DisplayName::into_inner)),
            agent_id: Set((kind == ClientKind::Agent)
                .then(|| format!("agent_{}", writ_core::random::alnum(24)))),
            description: Set(description.into_inner()),
            auth_type: Set(auth_type.into()),
            enabled: Set(true),
            created_at: Set(now),
        };
        let txn = self.db.begin().await?;
        let created = model
            .insert(&txn)
            .await
            .map_err(|e| conflict_on_unique(e, "client id collision: try again"))?;
        permission_grant::ActiveModel {
            id: Set(new_id()),
            resource_server_id: Set(pam.id),
            client_pk: Set(created.id.clone()),
            permissions: Set(r#"[".all"]"#.into()),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let v = view(created);
        self.record_change(
            &txn,
            Change::new(audit_type(kind.as_str()), "create", &v.id).after(snapshot(&v)),
        )
        .await?;
        txn.commit().await?;
        self.changed();
        Ok(v)
    }

    pub async fn list_clients(&self, kind: ClientKind) -> Result<Vec<ClientView>> {
        Ok(client::Entity::find()
            .filter(client::Column::Kind.eq(kind.as_str()))
            .order_by_desc(client::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    pub async fn get_client(&self, id: &str) -> Result<ClientView> {
        self.client_model(id).await.map(view)
    }

    pub(crate) async fn client_model(&self, id: &str) -> Result<client::Model> {
        client::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .ok_or(ServiceError::NotFound("client"))
    }

    /// A client by its OAuth `client_id` (what grants name).
    pub(crate) async fn client_by_client_id(&self, client_id: &str) -> Result<client::Model> {
        client::Entity::find()
            .filter(client::Column::ClientId.eq(client_id.trim()))
            .one(&self.db)
            .await?
            .ok_or(ServiceError::NotFound("client"))
    }

    /// A client by its id (console / API path) when it has the given kind.
    pub async fn get_client_of_kind(&self, id: &str, kind: ClientKind) -> Result<ClientView> {
        self.client_model_of_kind(id, kind).await.map(view)
    }

    /// Edits name, owner (agents only) and description; the ids and the
    /// authentication method stay.
    pub async fn update_client(
        &self,
        id: &str,
        kind: ClientKind,
        input: ClientUpdate,
    ) -> Result<ClientView> {
        let c = self.client_model_of_kind(id, kind).await?;
        let change =
            Change::new(audit_type(&c.kind), "update", &c.id).before(snapshot(&view(c.clone())));
        let mut am: client::ActiveModel = c.into();
        if let Some(name) = &input.name {
            let field = match kind {
                ClientKind::Agent => "agent name",
                ClientKind::M2m => "application name",
            };
            am.name = Set(DisplayName::parse(field, name)?.into_inner());
        }
        match (&input.owner, kind) {
            (Some(owner), ClientKind::Agent) => {
                am.owner = Set(Some(DisplayName::parse("owner", owner)?.into_inner()));
            }
            (Some(_), ClientKind::M2m) => {
                return Err(ServiceError::Invalid(
                    "owner: M2M applications have no owner".into(),
                ));
            }
            (None, _) => {}
        }
        if let Some(d) = &input.description {
            am.description = Set(Description::parse(d)?.into_inner());
        }
        let tx = self.db.begin().await?;
        let m = view(am.update(&tx).await?);
        self.record_change(&tx, change.after(snapshot(&m))).await?;
        tx.commit().await?;
        self.changed();
        Ok(m)
    }

    /// Disables or enables a client. Disabled, every token request it makes
    /// is refused with `invalid_client` and the developer API refuses the
    /// tokens it already holds; this replica's caches drop at once.
    pub async fn set_client_enabled(
        &self,
        id: &str,
        kind: ClientKind,
        enabled: bool,
    ) -> Result<ClientView> {
        let c = self.client_model_of_kind(id, kind).await?;
        let m = self.set_enabled::<client::Entity>(c, enabled).await?;
        Ok(view(m))
    }

    /// Deletes a disabled client with its secrets, keys, federated
    /// credentials and grants in one transaction; its audit records stay.
    pub async fn delete_client(&self, id: &str, kind: ClientKind) -> Result<()> {
        let c = self.client_model_of_kind(id, kind).await?;
        let secret_ids: Vec<String> = client_secret::Entity::find()
            .filter(client_secret::Column::ClientPk.eq(c.id.as_str()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect();
        self.delete_disabled::<client::Entity>(c).await?;
        for s in secret_ids {
            self.secrets.forget(&s);
        }
        Ok(())
    }

    async fn client_model_of_kind(&self, id: &str, kind: ClientKind) -> Result<client::Model> {
        let c = self.client_model(id).await?;
        if c.kind != kind.as_str() {
            return Err(ServiceError::NotFound(kind_name(kind)));
        }
        Ok(c)
    }

    /// A new secret, shown once. `allow_client_secret_jwt` keeps a sealed
    /// copy so HMAC assertions keyed with it can be checked.
    pub async fn add_client_secret(
        &self,
        client_pk: &str,
        allow_client_secret_jwt: bool,
    ) -> Result<NewSecret> {
        let c = self.client_model(client_pk).await?;
        let value = secret::generate_client_secret();
        let id = new_id();
        let sealed = allow_client_secret_jwt.then(|| {
            self.vault
                .seal(value.as_bytes(), &format!("client_secret:{id}"))
        });
        let hash = secret::hash(&value).map_err(|_| ServiceError::Internal)?;
        let hint: String = value
            .trim_start_matches(secret::CLIENT_SECRET_PREFIX)
            .chars()
            .take(4)
            .collect();
        let tx = self.db.begin().await?;
        let m = client_secret::ActiveModel {
            id: Set(id),
            client_pk: Set(c.id.clone()),
            secret_hash: Set(hash),
            sealed_secret: Set(sealed),
            hint: Set(hint),
            enabled: Set(true),
            created_at: Set(self.now()),
            last_used_at: Set(None),
            screen: Set(Some(secret::screen(&self.token_digest_key, &value))),
        }
        .insert(&tx)
        .await?;
        let after = with_field(snapshot(&secret_view(m.clone())), "client_pk", c.id);
        let after = with_field(after, "allow_client_secret_jwt", allow_client_secret_jwt);
        self.record_change(&tx, Change::new("secret", "create", &m.id).after(after))
            .await?;
        tx.commit().await?;
        self.changed();
        Ok(NewSecret {
            id: m.id,
            client_secret: value,
        })
    }

    pub async fn list_client_secrets(&self, client_pk: &str) -> Result<Vec<SecretView>> {
        self.client_model(client_pk).await?;
        Ok(client_secret::Entity::find()
            .filter(client_secret::Column::ClientPk.eq(client_pk))
            .order_by_desc(client_secret::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(secret_view)
            .collect())
    }

    pub async fn set_client_secret_enabled(
        &self,
        client_pk: &str,
        secret_id: &str,
        enabled: bool,
    ) -> Result<SecretView> {
        let s = self
            .client_owned::<client_secret::Entity>(client_pk, secret_id)
            .await?;
        let s = self
            .set_enabled::<client_secret::Entity>(s, enabled)
            .await?;
        if !enabled {
            self.secrets.forget(&s.id);
        }
        Ok(secret_view(s))
    }

    pub async fn delete_client_secret(&self, client_pk: &str, secret_id: &str) -> Result<()> {
        let s = self
            .client_owned::<client_secret::Entity>(client_pk, secret_id)
            .await?;
        let id = s.id.clone();
        self.delete_disabled::<client_secret::Entity>(s).await?;
        self.secrets.forget(&id);
        Ok(())
    }

    /// The `client-config.json` for any method: the one entry point the
    /// console, its download and the admin API share.
    pub async fn client_config(
        &self,
        client_pk: &str,
        q: &writ_types::SdkConfigRequest,
    ) -> Result<SdkConfigView> {
        let method = q
            .authn_method
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .unwrap_or("CLIENT_SECRET_POST");
        match method {
            "OIDC" | "PCA" | "PKCS7" => self.sdk_config_federated(client_pk, method, q).await,
            m => {
                self.sdk_config(
                    client_pk,
                    m,
                    q.scope.as_deref(),
                    q.secret_env_var.as_deref(),
                )
                .await
            }
        }
    }

    /// The `client-config.json` for a client and the chosen method and scope.
    pub async fn sdk_config(
        &self,
        client_pk: &str,
        method: &str,
        scope: Option<&str>,
        env_var: Option<&str>,
    ) -> Result<SdkConfigView> {
        let c = self.client_model(client_pk).await?;
        let method = SdkAuthnMethod::parse(method).ok_or_else(|| {
            ServiceError::Invalid(
                "authn_method must be CLIENT_SECRET_POST, CLIENT_SECRET_BASIC, CLIENT_SECRET_JWT, PRIVATE_KEY_JWT, PCA, OIDC or PKCS7"
                    .into(),
            )
        })?;
        let env_var = env_var
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(method.default_env_var());
        if !sdk_config::valid_env_var_name(env_var) {
            return Err(ServiceError::Invalid(
                "secret environment variable name must match [A-Za-z_][A-Za-z0-9_]*".into(),
            ));
        }
        let authn = sdk_config::AuthnConfiguration::for_method(method, env_var);
        Ok(SdkConfigView {
            json: self.render_sdk_config(&c.client_id, scope, authn)?,
            secret_env_var: env_var.to_owned(),
        })
    }

    /// The pretty `client-config.json` for any authentication method; the
    /// scope defaults to `urn:cloud:idaas:pam|.all` and must parse.
    pub(crate) fn render_sdk_config(
        &self,
        client_id: &str,
        scope: Option<&str>,
        authn: sdk_config::AuthnConfiguration,
    ) -> Result<String> {
        let scope = scope
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(writ_core::PAM_ALL_SCOPE);
        writ_core::scope::ScopeRequest::parse(Some(scope))
            .map_err(|e| ServiceError::Invalid(format!("scope: {}", e.description)))?;
        let cfg = sdk_config::build(
            &self.instance_id,
            client_id,
            &self.urls,
            &self.public_url,
            scope,
            authn,
        );
        serde_json::to_string_pretty(&cfg).map_err(|_| ServiceError::Internal)
    }
}
