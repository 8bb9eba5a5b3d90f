//! Views and inputs shared by the console, the service layer and the admin
//! REST API. Plain serde types, so they compile to wasm too.

pub mod admin_tokens;
pub mod audit;
pub mod errors;
pub mod signing_keys;
pub mod vocabulary;

pub use admin_tokens::{AdminTokenView, NewAdminToken, NewAdminTokenCreated};
pub use audit::{AdminAuditPage, AdminAuditQuery, AdminAuditView, AuditPage, AuditQuery};
pub use signing_keys::{RotateSigningKey, SigningKeyView};
pub use vocabulary::{
    BusinessType, LifecycleState, ProviderKind, SimpleModeFields, VerificationMode,
    simple_mode_expression,
};

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
    /// The method the agent is set up with first: `client_secret` (the
    /// default), `private_key_jwt`, `pca`, `oidc` or `pkcs7`. Any other
    /// value is refused with 400.
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

/// An edit of an agent or M2M application: fields left out stay as they
/// are. M2M applications have no owner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClientUpdate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
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

/// Options for a new client secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewSecretRequest {
    /// Allow `client_secret_jwt` (HMAC assertions keyed with the secret):
    /// Writ then keeps an AEAD-sealed copy besides the argon2 hash.
    #[serde(default)]
    pub allow_client_secret_jwt: Option<bool>,
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
    /// Disabled, its audience is refused at the token endpoint.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// RFC 8693 token exchange: whether agents may act for people here.
    #[serde(default)]
    pub delegation: DelegationView,
}

fn enabled_by_default() -> bool {
    true
}

/// A resource server's delegation policy (RFC 8693 token exchange).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DelegationView {
    pub enabled: bool,
    /// CEL over the person's `jwt.claims.*` producing the list of
    /// permission names they may delegate here.
    pub permissions_expression: Option<String>,
    /// Most agents a delegated token's `act` chain may hold.
    pub max_chain_depth: i64,
}

impl Default for DelegationView {
    fn default() -> Self {
        Self {
            enabled: false,
            permissions_expression: None,
            max_chain_depth: 2,
        }
    }
}

/// A resource server's delegation settings on create or edit: fields left
/// out stay as they are (off, no expression, depth 2 on create).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DelegationInput {
    #[serde(default)]
    pub enabled: Option<bool>,
    /// e.g. `jwt.claims.groups.exists(g, g == 'readers') ? ['read'] : []`
    #[serde(default)]
    pub permissions_expression: Option<String>,
    /// 1 to 8.
    #[serde(default)]
    pub max_chain_depth: Option<i64>,
}

/// An edit of a resource server: fields left out stay as they are.
/// Removing a permission removes it from every grant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResourceServerUpdate {
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
    #[serde(default)]
    pub access_token_ttl_seconds: Option<i64>,
    #[serde(default, alias = "custom_subject")]
    pub custom_subject_identity: Option<bool>,
    #[serde(default)]
    pub delegation: Option<DelegationInput>,
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
    /// Custom subject identity: a federated credential's attribute mapping
    /// makes `sub` = `<clientId>:<activeSubjectUrn>`.
    #[serde(default, alias = "custom_subject_identity")]
    pub custom_subject: Option<bool>,
    /// Token exchange; off when left out.
    #[serde(default)]
    pub delegation: Option<DelegationInput>,
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
    /// The row's id: the audit search's paging cursor.
    #[serde(default)]
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
    /// Requests this row stands for: repeated refusals from one source are
    /// folded into one row under a flood.
    #[serde(default = "one")]
    pub count: i64,
    /// The last of them (`at` is the first); `None` for a single request.
    #[serde(default)]
    pub last_at: Option<i64>,
    /// Token exchange: the person (`subject.iss`, `subject.sub`) and the
    /// agents acting for them (`actors`, most recent first), as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation: Option<String>,
}

fn one() -> i64 {
    1
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
    /// What Alibaba Cloud RAM's *Get Fingerprint* computes for the issuer
    /// URL: SHA-1 of the top (last) certificate Writ serves, colons removed.
    #[serde(default)]
    pub ram_fingerprint: Option<String>,
    /// The subject of that certificate.
    #[serde(default)]
    pub ram_fingerprint_certificate: Option<String>,
    /// The documented OpenSSL procedure, as one command.
    #[serde(default)]
    pub ram_fingerprint_command: String,
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

/// A federated credential provider: `pca`, `oidc` or `pkcs7`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewFederatedProvider {
    /// `pca`, `oidc` or `pkcs7`
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
    /// OIDC verification keys pasted as a JWKS object (for issuers Writ
    /// cannot reach). Without it, keys come from `jwks_uri`, else by
    /// discovery from the issuer, and are cached and refetched on rotation.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub jwks: Option<serde_json::Value>,
    /// OIDC: where to fetch the keys (https, public address).
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// OIDC: allow http and loopback/private addresses for fetches (local testing only).
    #[serde(default)]
    pub allow_insecure_local_endpoints: Option<bool>,
    /// PCA: the private root certificate (PEM).
    #[serde(default)]
    pub root_certificate: Option<String>,
    /// PCA: intermediate certificates (PEM each; at least one).
    #[serde(default)]
    pub intermediate_certificates: Option<Vec<String>>,
    /// PKCS#7: `aws_ec2` or `alibaba_cloud_ecs`.
    #[serde(default)]
    pub trust_source: Option<String>,
    /// PKCS#7: the cloud's certificate that signs identity documents (PEM).
    #[serde(default)]
    pub verification_certificate: Option<String>,
    /// PKCS#7: the cloud account the instances must belong to.
    #[serde(default)]
    pub account_id: Option<String>,
    /// PKCS#7: oldest accepted document (Alibaba, since signing; default
    /// 4,500 s) or instance (AWS, since launch, `pendingTime`; default
    /// 604,800 s = 7 days).
    #[serde(default)]
    pub max_document_age_seconds: Option<i64>,
    /// Optional CEL condition every token or document of this provider must meet.
    #[serde(default)]
    pub trust_condition: Option<String>,
}

/// A trusted issuer of people's tokens (an OIDC provider) for token exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewUserIdentityProvider {
    /// `[a-z0-9_-]`, 1-64 characters.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The exact `iss` of the people's tokens.
    pub issuer: String,
    /// The `aud` the people's tokens must carry (e.g. Writ's client id at the IdP).
    pub audience: String,
    /// Verification keys pasted as a JWKS object. One key source: `jwks`,
    /// `jwks_uri`, or `discovery: true` (from the issuer).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub jwks: Option<serde_json::Value>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub discovery: Option<bool>,
    /// Allow http and loopback/private addresses for fetches (local testing only).
    #[serde(default)]
    pub allow_insecure_local_endpoints: Option<bool>,
    /// Optional CEL condition over `jwt.claims.*` every person's token must meet.
    #[serde(default)]
    pub trust_condition: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UserIdentityProviderView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub issuer: String,
    pub audience: String,
    /// `pasted`, `jwks_uri` or `discovery`.
    pub key_source: String,
    pub jwks_uri: Option<String>,
    pub trust_condition: Option<String>,
    pub created_at: i64,
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
    /// OIDC key source: `pasted`, `jwks_uri` or `discovery`.
    pub key_source: Option<String>,
    pub jwks_uri: Option<String>,
    /// PCA: subject CN of the root and of each intermediate.
    pub root_subject: Option<String>,
    pub intermediate_subjects: Vec<String>,
    pub trust_source: Option<String>,
    pub account_id: Option<String>,
    pub max_document_age_seconds: Option<i64>,
    pub trust_condition: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct VerificationInput {
    /// `kubernetes` or `principal_id` (OIDC), `certificate` (PCA),
    /// `cloud_server` (PKCS#7), or `expression` (any)
    pub mode: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub service_account: Option<String>,
    #[serde(default)]
    pub principal_id: Option<String>,
    /// PCA certificate mode: the client certificate's subject CN.
    #[serde(default)]
    pub cn: Option<String>,
    /// PKCS#7 cloud server mode: the instance ID.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// Expression mode: CEL over `client.`, `jwt.`, `cert.`, `pkcs7.` (≤ 10,240 characters).
    #[serde(default)]
    pub expression: Option<String>,
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
    /// CEL expression producing `activeSubjectUrn`; with custom subject
    /// identity on the resource server, `sub` = `<clientId>:<activeSubjectUrn>`.
    #[serde(default)]
    pub attribute_mapping: Option<String>,
}

/// An edit of a federated credential: fields left out stay as they are.
/// The name is fixed once created (it is what workloads present); an
/// empty `attribute_mapping` removes the mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FederatedCredentialUpdate {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub verification: Option<VerificationInput>,
    #[serde(default)]
    pub attribute_mapping: Option<String>,
    /// Refused when present: the name cannot change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub name: Option<serde_json::Value>,
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
    pub verification_mode: String,
    /// The expression the verification stands for.
    pub verification_expression: String,
    pub attribute_mapping: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A dry run of the token endpoint's federated checks (nothing is issued).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FederatedTestRequest {
    pub client_id: String,
    pub client_assertion_type: String,
    pub client_assertion: String,
    #[serde(default)]
    pub application_federated_credential_name: Option<String>,
    #[serde(default)]
    pub client_x509: Option<String>,
    #[serde(default)]
    pub client_x509_chain: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FederatedCheckView {
    pub name: String,
    pub passed: bool,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FederatedTestResult {
    pub passed: bool,
    /// The `sub` a token would carry (for the audience's default subject mode,
    /// and `<clientId>:<activeSubjectUrn>` when a mapping produced one).
    pub subject: Option<String>,
    pub checks: Vec<FederatedCheckView>,
}

/// What the SDK configuration generator is asked for (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct SdkConfigRequest {
    /// CLIENT_SECRET_POST (default), CLIENT_SECRET_BASIC, PRIVATE_KEY_JWT, OIDC, PCA or PKCS7
    pub authn_method: Option<String>,
    /// Default `urn:cloud:idaas:pam|.all`
    pub scope: Option<String>,
    /// Environment variable holding the secret (default IDAAS_CLIENT_SECRET)
    /// or the PEM private key (default IDAAS_PRIVATE_KEY)
    pub secret_env_var: Option<String>,
    /// With OIDC, PCA or PKCS7: the federated credential's name
    pub federated_credential_name: Option<String>,
    /// With OIDC: the token file the SDK reads (Kubernetes default if omitted)
    pub oidc_token_file_path: Option<String>,
    /// With OIDC: an environment variable naming the token file, read at
    /// start (Alibaba ACK RRSA: `ALIBABA_CLOUD_OIDC_TOKEN_FILE`)
    pub oidc_token_file_env_var: Option<String>,
    /// With PCA: the client certificate (PEM) to put in the file
    pub client_x509_certificate: Option<String>,
}

/// Asset Management › Credential › Create Credential › API Key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewCredential {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `llm` (Large Language Model) or `external_service` (External
    /// Service); `saas` is accepted as an alias of `external_service`.
    pub business_type: String,
    /// The API key ID: what the workload asks for (`credentialIdentifier`).
    pub identifier: String,
    /// `api_key` (default) or `ak_sk` (a long-term AccessKey ID + Secret).
    #[serde(default)]
    pub credential_type: Option<String>,
    /// The API key (type `api_key`). Sealed at once; never returned.
    #[serde(default)]
    pub api_key: String,
    /// Type `ak_sk`: the AccessKey ID. Sealed with the secret.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Type `ak_sk`: the AccessKey Secret. Sealed at once; never returned.
    #[serde(default)]
    pub access_key_secret: Option<String>,
}

/// Edit: omitted or blank fields keep their value; a new `api_key` replaces the stored one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CredentialUpdate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub business_type: Option<String>,
    #[serde(default)]
    pub api_key: Option<String>,
    /// Type `ak_sk`: a new pair replaces the stored one (give both).
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub access_key_secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CredentialView {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub description: String,
    /// `llm` or `external_service` (a credential saved as `saas` reads as
    /// `external_service`).
    pub business_type: String,
    pub credential_type: String,
    /// Always "Default Encrypted Credential".
    pub secure_storage: String,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CredentialGrantView {
    pub id: String,
    pub credential_id: String,
    pub client_pk: String,
    pub client_id: String,
    pub client_name: String,
    pub created_at: i64,
}

/// One vault credential or credential provider a client may use: the
/// client page's "May reach" list, each entry revocable by `grant_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ClientAssetGrantView {
    pub grant_id: String,
    /// `credential` (vault) or `credential_provider`.
    pub kind: String,
    /// The credential's or provider's id.
    pub target_id: String,
    pub target_name: String,
    pub created_at: i64,
}

/// A credential provider (Credential Provider tab). Only `jwt` for now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NewCredentialProvider {
    /// `oauth` or `jwt`
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// What workloads name (`credentialProviderIdentifier`), unique.
    pub identifier: String,
    /// JWT: `ES256` (default), `RS256` or `EdDSA`.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// JWT: the "Generate Short Token" switch.
    #[serde(default)]
    pub generate_short_token: Option<bool>,
    /// JWT: default lifetime in seconds (default 3600).
    #[serde(default)]
    pub expiration_seconds: Option<i64>,
    /// JWT: issuers a workload may ask for besides the provider's default.
    #[serde(default)]
    pub issuer_whitelist: Option<Vec<String>>,
    /// OAuth: `user_federation` (authorization code + PKCE; the default when
    /// an authorization endpoint is given) or `m2m` (client_credentials).
    #[serde(default)]
    pub authorization_flow: Option<String>,
    /// OAuth: Writ's client ID at the third party.
    #[serde(default)]
    pub client_id: Option<String>,
    /// OAuth: Writ's client secret at the third party (sealed, never returned).
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// OAuth: the endpoint Writ calls to exchange an authorization code for a token.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// OAuth: `basic` (default) or `post`.
    #[serde(default)]
    pub client_auth_method: Option<String>,
    /// OAuth: default scopes; a request's own scope wins.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// OAuth: allow `http://` and loopback / private endpoints (local testing only).
    #[serde(default)]
    pub allow_insecure_local_endpoints: Option<bool>,
}

/// PATCH body for a credential provider: omitted fields keep their value;
/// a blank or omitted `client_secret` keeps the stored one. The type,
/// identifier and (JWT) algorithm are fixed once created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CredentialProviderUpdate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub generate_short_token: Option<bool>,
    #[serde(default)]
    pub expiration_seconds: Option<i64>,
    #[serde(default)]
    pub issuer_whitelist: Option<Vec<String>>,
    #[serde(default)]
    pub authorization_flow: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub client_auth_method: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub allow_insecure_local_endpoints: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CredentialProviderView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub identifier: String,
    pub name: String,
    pub description: String,
    pub algorithm: String,
    pub generate_short_token: bool,
    pub expiration_seconds: i64,
    pub issuer_whitelist: Vec<String>,
    /// The issuer of minted JWTs when a workload names none.
    pub default_issuer: String,
    /// The `kid` of its signing key in the provider's own JWKS (`jwks_uri`).
    pub kid: String,
    /// JWT: the provider's own JWKS, the only place its key is published
    /// (never Writ's access-token JWKS). Empty for OAuth providers.
    #[serde(default)]
    pub jwks_uri: String,
    /// OAuth: `user_federation` or `m2m`.
    #[serde(default)]
    pub authorization_flow: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub authorization_endpoint: String,
    #[serde(default)]
    pub token_endpoint: String,
    #[serde(default)]
    pub client_auth_method: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub allow_insecure_local_endpoints: bool,
    /// OAuth: the redirect URI to register at the third party.
    #[serde(default)]
    pub callback_url: String,
    pub enabled: bool,
    pub created_at: i64,
}
