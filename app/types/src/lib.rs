//! Views and inputs shared by the console, the service layer and the admin
//! REST API. Plain serde types, so they compile to wasm too.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    Agent,
    M2m,
}

impl ClientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::M2m => "m2m",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "agent" => Some(Self::Agent),
            "m2m" => Some(Self::M2m),
            _ => None,
        }
    }
}

/// An agent or an M2M application: both are OAuth clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ClientView {
    pub id: String,
    pub kind: ClientKind,
    pub client_id: String,
    /// Set for agents only.
    pub agent_id: Option<String>,
    pub name: String,
    pub owner: Option<String>,
    pub description: String,
    pub auth_type: String,
    pub enabled: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewAgent {
    pub name: String,
    pub owner: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Only `client_secret` for now.
    #[serde(default)]
    pub auth_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewM2mApplication {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// Metadata of a client secret; the value itself is shown once, at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SecretView {
    pub id: String,
    /// The first characters after the prefix, to tell secrets apart.
    pub hint: String,
    pub enabled: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewSecret {
    pub id: String,
    /// Shown only in this response. Store it now.
    pub client_secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ResourceServerView {
    pub id: String,
    pub name: String,
    pub audience: String,
    pub permissions: Vec<String>,
    pub access_token_ttl_seconds: i64,
    pub custom_subject: bool,
    pub builtin: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewResourceServer {
    pub name: String,
    pub audience: String,
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default)]
    pub access_token_ttl_seconds: Option<i64>,
    #[serde(default)]
    pub custom_subject: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct GrantView {
    pub id: String,
    pub resource_server_id: String,
    pub audience: String,
    pub client_pk: String,
    pub client_id: String,
    pub client_name: String,
    /// Permission values, or `[".all"]` for every permission.
    pub permissions: Vec<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewGrant {
    /// The OAuth `client_id` of the agent or M2M application.
    pub client_id: String,
    /// Permission values of the resource server, or `[".all"]`.
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditView {
    pub at: i64,
    pub client_id: String,
    pub method: String,
    pub audience: String,
    pub scope: String,
    pub jti: String,
    pub outcome: String,
    pub reason: String,
    pub source: String,
}

/// What the console and the admin API show about the issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IssuerInfo {
    pub instance_id: String,
    pub issuer: String,
    pub token_endpoint: String,
    pub discovery_url: String,
    pub jwks_url: String,
    /// SHA-1 fingerprint of the TLS certificate the issuer serves.
    pub tls_sha1_fingerprint: Option<String>,
    /// The shell command that recomputes the fingerprint.
    pub fingerprint_command: String,
}

/// The generated SDK configuration and how to use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SdkConfigView {
    /// Pretty-printed `client-config.json`.
    pub json: String,
    pub secret_env_var: String,
}

/// A public key registered for `private_key_jwt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PublicKeyView {
    pub id: String,
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// `RSA-2048`, `EC P-256`, …
    pub key_type: String,
    pub enabled: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// Give one of `pem` (SubjectPublicKeyInfo or certificate) or `jwk`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewPublicKey {
    #[serde(default)]
    pub pem: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub jwk: Option<serde_json::Value>,
}

/// A federated credential provider (only `oidc` for now).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewFederatedProvider {
    /// `oidc` (`pca` and `pkcs7` are not available yet)
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub issuer: Option<String>,
    /// Expected `aud` of the external tokens.
    #[serde(default)]
    pub audience: Option<String>,
    /// Verification keys, pasted as a JWKS object.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub jwks: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FederatedProviderView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct VerificationInput {
    /// `kubernetes` or `principal_id` (OIDC)
    pub mode: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub service_account: Option<String>,
    #[serde(default)]
    pub principal_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewFederatedCredential {
    #[serde(rename = "type")]
    pub kind: String,
    pub provider_id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub verification: VerificationInput,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FederatedCredentialView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub provider_id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    /// The expression the verification stands for.
    pub verification_expression: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}
