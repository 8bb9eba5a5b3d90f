//! SeaORM entities: one module per table the migrations in `writ-migrations`
//! create (the init migration's and every later one's).

macro_rules! entity_boilerplate {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}
        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod setting {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "settings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub value: String,
    }
    entity_boilerplate!();
}

pub mod admin {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "admins")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub username: String,
        pub password_hash: String,
        pub created_at: i64,
    }
    entity_boilerplate!();
}

pub mod admin_token {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "admin_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        /// Legacy argon2 PHC, or the digest scheme of `token_digest`.
        pub token_hash: String,
        /// `writ_core::secret::token_digest` of the token (looked up by equality).
        pub token_digest: Option<String>,
        pub created_at: i64,
        /// Unix seconds; `None` never expires.
        pub expires_at: Option<i64>,
        /// Unix seconds, recorded at most once a minute.
        pub last_used_at: Option<i64>,
        /// Unix seconds; a revoked row is kept (hidden, never accepted) so a
        /// revoked bootstrap value stays revoked across restarts.
        pub revoked_at: Option<i64>,
    }
    entity_boilerplate!();
}

pub mod login_throttle {
    use sea_orm::entity::prelude::*;
    /// Failed console sign-ins per key (user + source, user, or source),
    /// shared by every replica on the same database.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "login_throttle")]
    pub struct Model {
        /// SHA-256 (hex) of the key's parts: no user name is stored in clear.
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub failures: i32,
        pub last_failure_at: i64,
    }
    entity_boilerplate!();
}

pub mod client {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "clients")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub client_id: String,
        pub kind: String,
        pub name: String,
        pub owner: Option<String>,
        pub agent_id: Option<String>,
        pub description: String,
        pub auth_type: String,
        pub enabled: bool,
        pub created_at: i64,
    }
    entity_boilerplate!();
}

pub mod client_secret {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "client_secrets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub client_pk: String,
        pub secret_hash: String,
        /// Vault-sealed copy, only for secrets that allow `client_secret_jwt`.
        pub sealed_secret: Option<String>,
        pub hint: String,
        pub enabled: bool,
        pub created_at: i64,
        pub last_used_at: Option<i64>,
        /// `secret::screen` of the value (NULL for secrets made before screens).
        pub screen: Option<String>,
    }
    entity_boilerplate!();
}

pub mod resource_server {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "resource_servers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub audience: String,
        /// JSON array of permission values.
        pub permissions: String,
        pub token_ttl_secs: i64,
        pub custom_subject: bool,
        pub builtin: bool,
        pub created_at: i64,
        pub enabled: bool,
        /// Token exchange (RFC 8693) may target it.
        pub delegation_enabled: bool,
        /// CEL over the person's `jwt.claims.*`: the permissions they may delegate.
        pub delegation_permissions_expression: Option<String>,
        /// Most actors a delegated token's `act` chain may hold.
        pub delegation_max_chain_depth: i64,
    }
    entity_boilerplate!();
}

pub mod permission_grant {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "permission_grants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub resource_server_id: String,
        pub client_pk: String,
        /// JSON array of permission values, or `[".all"]`.
        pub permissions: String,
        pub created_at: i64,
    }
    entity_boilerplate!();
}

pub mod audit_event {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_events")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub at: i64,
        pub client_id: String,
        pub method: String,
        pub audience: String,
        pub scope: String,
        pub jti: String,
        pub outcome: String,
        pub reason: String,
        pub source: String,
        /// Requests this row stands for: refusals repeated from one source,
        /// client, method and reason are folded into one row (1 otherwise).
        pub count: i64,
        /// The last of them (`at` is the first); NULL in rows written
        /// before folding, where it is `at`.
        pub last_at: Option<i64>,
        /// Token exchange: the person and the agents (JSON); NULL otherwise.
        pub delegation: Option<String>,
    }
    entity_boilerplate!();
}

pub mod admin_audit {
    use sea_orm::entity::prelude::*;
    /// One admin change: who, what, on which resource, before and after.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "admin_audit")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub at: i64,
        /// `console`, `api_token` or `system`.
        pub actor_kind: String,
        /// The console user name or the admin API token's name.
        pub actor: String,
        pub actor_id: String,
        /// `<resource_type>.<verb>`.
        pub action: String,
        pub resource_type: String,
        pub resource_id: String,
        /// Redacted JSON (`writ_core::admin_audit::redact`); NULL on create.
        pub before: Option<String>,
        /// Redacted JSON; NULL on delete.
        pub after: Option<String>,
        pub source: String,
    }
    entity_boilerplate!();
}

pub mod client_public_key {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "client_public_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub client_pk: String,
        pub kid: String,
        /// The public JWK as JSON.
        pub jwk: String,
        pub description: String,
        pub enabled: bool,
        pub created_at: i64,
        pub last_used_at: Option<i64>,
    }
    entity_boilerplate!();
}

pub mod used_assertion {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "used_assertions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub expires_at: i64,
    }
    entity_boilerplate!();
}

pub mod federated_provider {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "federated_providers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub kind: String,
        pub name: String,
        pub description: String,
        /// Type-specific settings as JSON (e.g. OIDC issuer, audience, JWKS).
        pub config: String,
        /// CEL condition every token of this provider must meet first.
        pub trust_condition: Option<String>,
        pub enabled: bool,
        pub created_at: i64,
    }
    entity_boilerplate!();
}

pub mod user_identity_provider {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "user_identity_providers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub description: String,
        pub issuer: String,
        /// `OidcProviderConfig` as JSON (issuer, audience, keys).
        pub config: String,
        /// CEL condition over `jwt.claims.*` every person's token must meet.
        pub trust_condition: Option<String>,
        pub enabled: bool,
        pub created_at: i64,
    }
    entity_boilerplate!();
}

pub mod federated_credential {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "federated_credentials")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub client_pk: String,
        pub provider_id: String,
        pub kind: String,
        pub name: String,
        pub description: String,
        /// The verification as JSON (`writ_core::federation::Verification`).
        pub verification: String,
        /// CEL expression producing `activeSubjectUrn` (custom subject).
        pub attribute_mapping: Option<String>,
        pub enabled: bool,
        pub created_at: i64,
        pub last_used_at: Option<i64>,
    }
    entity_boilerplate!();
}

pub mod credential {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "credentials")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// What workloads ask for (`credentialIdentifier`), unique.
        pub identifier: String,
        pub name: String,
        pub description: String,
        /// `llm` or `external_service` (`saas` in rows written before the
        /// rename; read as `external_service`).
        pub business_type: String,
        pub credential_type: String,
        /// The API key, sealed by the vault (context `credential:<id>`).
        pub sealed_value: String,
        pub enabled: bool,
        pub created_at: i64,
        pub updated_at: i64,
    }
    entity_boilerplate!();
}

pub mod credential_grant {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "credential_grants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub credential_id: String,
        pub client_pk: String,
        pub created_at: i64,
    }
    entity_boilerplate!();
}

pub mod credential_provider {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "credential_providers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// `jwt` or `oauth`.
        pub kind: String,
        pub identifier: String,
        pub name: String,
        pub description: String,
        /// `writ_core::jwt_provider::JwtProviderConfig` or
        /// `writ_core::oauth_provider::OAuthProviderConfig` as JSON.
        pub config: String,
        /// JWT: the signing key (PKCS#8 PEM); OAuth: the client secret;
        /// sealed by the vault.
        pub sealed_key: String,
        pub kid: String,
        pub enabled: bool,
        pub created_at: i64,
        pub updated_at: i64,
    }
    entity_boilerplate!();
}

pub mod provider_grant {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "provider_grants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub provider_id: String,
        pub client_pk: String,
        pub created_at: i64,
    }
    entity_boilerplate!();
}

pub mod authentication_token {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "authentication_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub provider_id: String,
        /// The calling client's `client_id` (consumerType `application`).
        pub consumer_id: String,
        /// SHA-256 (hex) of the JWT, to find it by value.
        pub token_hash: String,
        /// SHA-256 (hex) of the derived short token, if one was made.
        pub short_token_hash: Option<String>,
        /// The JWT itself, sealed (ObtainJwt returns it again).
        pub sealed_jwt: String,
        pub revoked: bool,
        pub created_at: i64,
        pub updated_at: i64,
        pub expires_at: i64,
    }
    entity_boilerplate!();
}

pub mod oauth_token {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "oauth_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub provider_id: String,
        pub consumer_id: String,
        /// The scope asked for, normalised (the cache key with the two above).
        pub scope: String,
        pub token_type: String,
        /// The scope the third party says it granted, if it said.
        pub granted_scope: Option<String>,
        pub sealed_access_token: String,
        pub sealed_refresh_token: Option<String>,
        pub expires_at: i64,
        pub created_at: i64,
        pub updated_at: i64,
    }
    entity_boilerplate!();
}

pub mod oauth_session {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "oauth_sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub provider_id: String,
        pub consumer_id: String,
        pub scope: String,
        pub state_hash: String,
        /// The PKCE code verifier, sealed.
        pub sealed_verifier: String,
        pub authorization_url: String,
        /// pending | callback_received | completed | failed | expired
        pub status: String,
        pub token_id: Option<String>,
        pub error_code: Option<String>,
        pub error_description: Option<String>,
        pub expires_at: i64,
        pub created_at: i64,
        pub updated_at: i64,
    }
    entity_boilerplate!();
}

pub mod signing_key {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "signing_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub kid: String,
        pub alg: String,
        /// PKCS#8 PEM sealed with the vault keyring.
        pub sealed_key: String,
        pub created_at: i64,
        /// When it may first sign (see `writ_core::key_rotation`).
        pub not_before: i64,
    }
    entity_boilerplate!();
}

pub mod console_session {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "console_sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub data: String,
        pub expires_at: i64,
    }
    entity_boilerplate!();
}
