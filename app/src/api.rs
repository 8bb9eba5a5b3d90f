//! Server functions: the console's only way to the service layer. Each one
//! checks the session, calls [`writ_service::Writ`], and turns a service error
//! into a message fit for the page (no internal detail).

use leptos::prelude::*;
use writ_types::*;

#[cfg(feature = "ssr")]
mod ssr {
    use leptos::prelude::*;
    use std::sync::Arc;
    use tower_sessions::Session;
    use writ_service::{ServiceError, Writ};

    /// A service error as the console shows it, with an HTTP status that
    /// tells a client mistake (4xx) from a server fault (500).
    /// The status comes from [`writ_types::errors::ErrorKind::http_status`],
    /// the table the admin API answers with too.
    pub fn err(e: ServiceError) -> ServerFnError {
        use http::StatusCode;
        let status = StatusCode::from_u16(e.kind().http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        status_error(status, e.to_string())
    }

    pub fn status_error(status: http::StatusCode, message: impl Into<String>) -> ServerFnError {
        if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
            opts.set_status(status);
        }
        ServerFnError::new(message.into())
    }

    pub fn writ() -> Result<Arc<Writ>, ServerFnError> {
        use_context::<Arc<Writ>>().ok_or_else(|| ServerFnError::new("the server is not ready"))
    }

    pub async fn session() -> Result<Session, ServerFnError> {
        leptos_axum::extract::<Session>()
            .await
            .map_err(|_| ServerFnError::new("no session"))
    }

    /// The signed-in admin's service handle, or "Please sign in".
    pub async fn admin() -> Result<Arc<Writ>, ServerFnError> {
        let s = session().await?;
        let id: Option<String> = s.get(crate::SESSION_ADMIN_KEY).await.ok().flatten();
        let w = writ()?;
        match id {
            Some(id) if w.admin_by_id(&id).await.map_err(err)?.is_some() => Ok(w),
            _ => Err(status_error(
                http::StatusCode::UNAUTHORIZED,
                super::SIGN_IN_MESSAGE,
            )),
        }
    }
}

pub const SIGN_IN_MESSAGE: &str = "Please sign in.";

/// The human part of a server function error.
pub fn message(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(m) => m.clone(),
        other => other.to_string(),
    }
}

#[server(prefix = "/console/api", endpoint = "whoami")]
pub async fn whoami() -> Result<Option<String>, ServerFnError> {
    let s = ssr::session().await?;
    let id: Option<String> = s.get(crate::SESSION_ADMIN_KEY).await.ok().flatten();
    let Some(id) = id else { return Ok(None) };
    Ok(ssr::writ()?
        .admin_by_id(&id)
        .await
        .map_err(ssr::err)?
        .map(|a| a.username))
}

#[server(prefix = "/console/api", endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<(), ServerFnError> {
    let w = ssr::writ()?;
    // The peer address, put in the request by the server's console router:
    // sign-in failures are counted per user and per source.
    let source = use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<writ_service::ClientSource>().cloned())
        .map(|s| s.0)
        .unwrap_or_default();
    let admin = w
        .login(&username, &password, &source)
        .await
        .map_err(ssr::err)?;
    let s = ssr::session().await?;
    // A new session id on sign-in defeats session fixation.
    s.cycle_id()
        .await
        .map_err(|_| ServerFnError::new("session error"))?;
    s.insert(crate::SESSION_ADMIN_KEY, admin.id)
        .await
        .map_err(|_| ServerFnError::new("session error"))?;
    leptos_axum::redirect("/agents");
    Ok(())
}

#[server(prefix = "/console/api", endpoint = "logout")]
pub async fn logout() -> Result<(), ServerFnError> {
    let s = ssr::session().await?;
    let _ = s.flush().await;
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(prefix = "/console/api", endpoint = "get_issuer_info")]
pub async fn get_issuer_info() -> Result<IssuerInfo, ServerFnError> {
    Ok(ssr::admin().await?.issuer_info())
}

#[server(prefix = "/console/api", endpoint = "list_clients")]
pub async fn list_clients(kind: String) -> Result<Vec<ClientView>, ServerFnError> {
    let kind = ClientKind::parse(&kind)
        .ok_or_else(|| ssr::status_error(http::StatusCode::BAD_REQUEST, "unknown client kind"))?;
    ssr::admin()
        .await?
        .list_clients(kind)
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "register_agent")]
pub async fn register_agent(
    name: String,
    owner: String,
    description: String,
    auth_type: String,
) -> Result<ClientView, ServerFnError> {
    let w = ssr::admin().await?;
    w.create_agent(NewAgent {
        name,
        owner,
        description: Some(description),
        auth_type: Some(auth_type),
    })
    .await
    .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "add_m2m_application")]
pub async fn add_m2m_application(
    name: String,
    description: String,
) -> Result<ClientView, ServerFnError> {
    let w = ssr::admin().await?;
    w.create_m2m_application(NewM2mApplication {
        name,
        description: Some(description),
    })
    .await
    .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "get_client")]
pub async fn get_client(id: String) -> Result<ClientView, ServerFnError> {
    ssr::admin().await?.get_client(&id).await.map_err(ssr::err)
}

#[cfg(feature = "ssr")]
fn client_kind(kind: &str) -> Result<ClientKind, ServerFnError> {
    ClientKind::parse(kind).ok_or_else(|| ServerFnError::new("unknown client kind"))
}

/// Edits an agent's or application's name, owner (agents) and description.
#[server(prefix = "/console/api", endpoint = "update_client")]
pub async fn update_client(
    id: String,
    kind: String,
    name: String,
    owner: Option<String>,
    description: String,
) -> Result<ClientView, ServerFnError> {
    let update = ClientUpdate {
        name: Some(name),
        owner,
        description: Some(description),
    };
    ssr::admin()
        .await?
        .update_client(&id, client_kind(&kind)?, update)
        .await
        .map_err(ssr::err)
}

/// Disables (every token request refused at once) or enables a client.
#[server(prefix = "/console/api", endpoint = "set_client_enabled")]
pub async fn set_client_enabled(
    id: String,
    kind: String,
    enabled: bool,
) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .set_client_enabled(&id, client_kind(&kind)?, enabled)
        .await
        .map_err(ssr::err)
        .map(|_| ())
}

/// Deletes a disabled client with its credentials and grants.
#[server(prefix = "/console/api", endpoint = "delete_client")]
pub async fn delete_client(id: String, kind: String) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .delete_client(&id, client_kind(&kind)?)
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "list_secrets")]
pub async fn list_secrets(client: String) -> Result<Vec<SecretView>, ServerFnError> {
    ssr::admin()
        .await?
        .list_client_secrets(&client)
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "add_secret")]
pub async fn add_secret(
    client: String,
    allow_client_secret_jwt: bool,
) -> Result<NewSecret, ServerFnError> {
    ssr::admin()
        .await?
        .add_client_secret(&client, allow_client_secret_jwt)
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "set_secret_enabled")]
pub async fn set_secret_enabled(
    client: String,
    secret: String,
    enabled: bool,
) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .set_client_secret_enabled(&client, &secret, enabled)
        .await
        .map_err(ssr::err)
        .map(|_| ())
}

#[server(prefix = "/console/api", endpoint = "delete_secret")]
pub async fn delete_secret(client: String, secret: String) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .delete_client_secret(&client, &secret)
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "sdk_config")]
pub async fn sdk_config(
    client: String,
    authn_method: String,
    scope: String,
    federated_credential: String,
    oidc_token_file_env_var: String,
    /// PCA: the workload's client certificate (PEM), put into the file.
    client_x509_certificate: String,
) -> Result<SdkConfigView, ServerFnError> {
    ssr::admin()
        .await?
        .client_config(
            &client,
            &SdkConfigRequest {
                authn_method: Some(authn_method),
                scope: Some(scope),
                federated_credential_name: Some(federated_credential),
                oidc_token_file_env_var: Some(oidc_token_file_env_var),
                client_x509_certificate: Some(client_x509_certificate),
                ..Default::default()
            },
        )
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "recent_audit")]
pub async fn recent_audit(client: String) -> Result<Vec<AuditView>, ServerFnError> {
    ssr::admin()
        .await?
        .recent_audit(&client, 50)
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "client_grants")]
pub async fn client_grants(client: String) -> Result<Vec<GrantView>, ServerFnError> {
    ssr::admin()
        .await?
        .grants_of_client(&client)
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "list_resource_servers")]
pub async fn list_resource_servers() -> Result<Vec<ResourceServerView>, ServerFnError> {
    ssr::admin()
        .await?
        .list_resource_servers()
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "create_resource_server")]
pub async fn create_resource_server(
    name: String,
    audience: String,
    permissions: String,
    ttl: String,
    custom_subject: bool,
) -> Result<ResourceServerView, ServerFnError> {
    let w = ssr::admin().await?;
    let ttl: i64 = ttl.trim().parse().map_err(|_| {
        ssr::status_error(
            http::StatusCode::BAD_REQUEST,
            "access token lifetime: enter a number of seconds",
        )
    })?;
    let permissions = permissions
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    w.create_resource_server(NewResourceServer {
        name,
        audience,
        permissions,
        access_token_ttl_seconds: Some(ttl),
        custom_subject: Some(custom_subject),
        delegation: None,
    })
    .await
    .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "get_resource_server")]
pub async fn get_resource_server(id: String) -> Result<ResourceServerView, ServerFnError> {
    ssr::admin()
        .await?
        .get_resource_server(&id)
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "list_grants")]
pub async fn list_grants(resource_server: String) -> Result<Vec<GrantView>, ServerFnError> {
    ssr::admin()
        .await?
        .list_grants(&resource_server)
        .await
        .map_err(ssr::err)
}

/// `permissions` is space-separated (`.all` for every permission).
#[server(prefix = "/console/api", endpoint = "grant_permissions")]
pub async fn grant_permissions(
    resource_server: String,
    client_id: String,
    permissions: String,
) -> Result<GrantView, ServerFnError> {
    let w = ssr::admin().await?;
    let permissions = permissions.split_whitespace().map(str::to_owned).collect();
    w.grant_permissions(
        &resource_server,
        NewGrant {
            client_id,
            permissions,
        },
    )
    .await
    .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "revoke_grant")]
pub async fn revoke_grant(resource_server: String, grant: String) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .revoke_grant(&resource_server, &grant)
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "list_public_keys")]
pub async fn list_public_keys(client: String) -> Result<Vec<PublicKeyView>, ServerFnError> {
    ssr::admin()
        .await?
        .list_public_keys(&client)
        .await
        .map_err(ssr::err)
}

/// `key` is a PEM public key or certificate, or a JWK as JSON.
#[server(prefix = "/console/api", endpoint = "add_public_key")]
pub async fn add_public_key(client: String, key: String) -> Result<PublicKeyView, ServerFnError> {
    let w = ssr::admin().await?;
    let input = if key.trim_start().starts_with('{') {
        let jwk = serde_json::from_str(key.trim()).map_err(|_| {
            ssr::status_error(
                http::StatusCode::BAD_REQUEST,
                "public key: the JWK is not valid JSON",
            )
        })?;
        NewPublicKey {
            pem: None,
            jwk: Some(jwk),
        }
    } else {
        NewPublicKey {
            pem: Some(key),
            jwk: None,
        }
    };
    w.add_public_key(&client, input).await.map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "set_public_key_enabled")]
pub async fn set_public_key_enabled(
    client: String,
    key: String,
    enabled: bool,
) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .set_public_key_enabled(&client, &key, enabled)
        .await
        .map_err(ssr::err)
        .map(|_| ())
}

#[server(prefix = "/console/api", endpoint = "delete_public_key")]
pub async fn delete_public_key(client: String, key: String) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .delete_public_key(&client, &key)
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "list_federated_providers")]
pub async fn list_federated_providers() -> Result<Vec<FederatedProviderView>, ServerFnError> {
    ssr::admin()
        .await?
        .list_federated_providers()
        .await
        .map_err(ssr::err)
}

/// `key_source`: `discovery`, `jwks_uri` or `pasted` (then `jwks` is the JSON).
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/console/api", endpoint = "create_oidc_provider")]
pub async fn create_oidc_provider(
    name: String,
    description: String,
    issuer: String,
    audience: String,
    key_source: String,
    jwks_uri: String,
    jwks: String,
    allow_insecure_local_endpoints: bool,
    trust_condition: String,
) -> Result<FederatedProviderView, ServerFnError> {
    let w = ssr::admin().await?;
    let jwks = match key_source.as_str() {
        "pasted" => Some(serde_json::from_str(jwks.trim()).map_err(|_| {
            ssr::status_error(
                http::StatusCode::BAD_REQUEST,
                "jwks: paste the issuer's JWKS as JSON ({\"keys\": [...]})",
            )
        })?),
        _ => None,
    };
    let jwks_uri = (key_source == "jwks_uri").then_some(jwks_uri);
    w.create_federated_provider(NewFederatedProvider {
        kind: ProviderKind::Oidc.as_str().into(),
        name,
        description: Some(description),
        issuer: Some(issuer),
        audience: Some(audience),
        jwks,
        jwks_uri,
        allow_insecure_local_endpoints: Some(allow_insecure_local_endpoints),
        trust_condition: Some(trust_condition),
        ..Default::default()
    })
    .await
    .map_err(ssr::err)
}

/// `intermediate_certificates` is concatenated PEM (one or more certificates).
#[server(prefix = "/console/api", endpoint = "create_pca_provider")]
pub async fn create_pca_provider(
    name: String,
    description: String,
    root_certificate: String,
    intermediate_certificates: String,
    trust_condition: String,
) -> Result<FederatedProviderView, ServerFnError> {
    ssr::admin()
        .await?
        .create_federated_provider(NewFederatedProvider {
            kind: ProviderKind::Pca.as_str().into(),
            name,
            description: Some(description),
            root_certificate: Some(root_certificate),
            intermediate_certificates: Some(vec![intermediate_certificates]),
            trust_condition: Some(trust_condition),
            ..Default::default()
        })
        .await
        .map_err(ssr::err)
}

/// `max_document_age_seconds` may be blank (the trust source's default).
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/console/api", endpoint = "create_pkcs7_provider")]
pub async fn create_pkcs7_provider(
    name: String,
    description: String,
    trust_source: String,
    verification_certificate: String,
    account_id: String,
    max_document_age_seconds: String,
    trust_condition: String,
) -> Result<FederatedProviderView, ServerFnError> {
    let age = match max_document_age_seconds.trim() {
        "" => None,
        a => Some(a.parse::<i64>().map_err(|_| {
            ssr::status_error(
                http::StatusCode::BAD_REQUEST,
                "Maximum document age: enter a number of seconds",
            )
        })?),
    };
    ssr::admin()
        .await?
        .create_federated_provider(NewFederatedProvider {
            kind: ProviderKind::Pkcs7.as_str().into(),
            name,
            description: Some(description),
            trust_source: Some(trust_source),
            verification_certificate: Some(verification_certificate),
            account_id: Some(account_id),
            max_document_age_seconds: age,
            trust_condition: Some(trust_condition),
            ..Default::default()
        })
        .await
        .map_err(ssr::err)
}

/// The Test credential panel's dry run (nothing is issued).
#[server(prefix = "/console/api", endpoint = "test_federated_credential")]
pub async fn test_federated_credential(
    client_id: String,
    assertion_type: String,
    assertion: String,
    credential_name: String,
    client_x509: String,
    client_x509_chain: String,
) -> Result<FederatedTestResult, ServerFnError> {
    let some = |s: String| (!s.trim().is_empty()).then_some(s);
    ssr::admin()
        .await?
        .test_federated_credential(FederatedTestRequest {
            client_id,
            client_assertion_type: assertion_type,
            client_assertion: assertion,
            application_federated_credential_name: some(credential_name),
            client_x509: some(client_x509),
            client_x509_chain: some(client_x509_chain),
        })
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "set_provider_enabled")]
pub async fn set_provider_enabled(provider: String, enabled: bool) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .set_federated_provider_enabled(&provider, enabled)
        .await
        .map_err(ssr::err)
        .map(|_| ())
}

/// Edits a provider's description and trust condition (blank removes it),
/// and, when given, replaces an OIDC provider's pasted JWKS or a PKCS#7
/// provider's maximum age. Sent as a merge patch; checked as on create.
#[server(prefix = "/console/api", endpoint = "update_provider")]
pub async fn update_provider(
    provider: String,
    description: String,
    trust_condition: String,
    jwks: String,
    max_document_age_seconds: String,
) -> Result<(), ServerFnError> {
    let mut patch = serde_json::json!({ "description": description });
    patch["trust_condition"] = match trust_condition.trim() {
        "" => serde_json::Value::Null,
        t => t.into(),
    };
    if !jwks.trim().is_empty() {
        patch["jwks"] = serde_json::from_str(&jwks).map_err(|_| {
            ssr::status_error(
                http::StatusCode::BAD_REQUEST,
                "JWKS: paste a JSON object with a \"keys\" array",
            )
        })?;
    }
    if !max_document_age_seconds.trim().is_empty() {
        patch["max_document_age_seconds"] = max_document_age_seconds
            .trim()
            .parse::<i64>()
            .map_err(|_| {
                ssr::status_error(
                    http::StatusCode::BAD_REQUEST,
                    "Maximum age: a whole number of seconds",
                )
            })?
            .into();
    }
    ssr::admin()
        .await?
        .update_federated_provider(&provider, &patch)
        .await
        .map_err(ssr::err)
        .map(|_| ())
}

#[server(prefix = "/console/api", endpoint = "delete_provider")]
pub async fn delete_provider(provider: String) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .delete_federated_provider(&provider)
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "list_federated_credentials")]
pub async fn list_federated_credentials(
    client: String,
) -> Result<Vec<FederatedCredentialView>, ServerFnError> {
    ssr::admin()
        .await?
        .list_federated_credentials(&client)
        .await
        .map_err(ssr::err)
}

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/console/api", endpoint = "add_federated_credential")]
pub async fn add_federated_credential(
    client: String,
    kind: String,
    provider_id: String,
    name: String,
    description: String,
    mode: String,
    namespace: String,
    service_account: String,
    principal_id: String,
    cn: String,
    instance_id: String,
    expression: String,
    attribute_mapping: String,
) -> Result<FederatedCredentialView, ServerFnError> {
    let w = ssr::admin().await?;
    let some = |s: String| (!s.trim().is_empty()).then_some(s);
    let verification = VerificationInput {
        mode,
        namespace: some(namespace),
        service_account: some(service_account),
        principal_id: some(principal_id),
        cn: some(cn),
        instance_id: some(instance_id),
        expression: some(expression),
    };
    w.create_federated_credential(
        &client,
        NewFederatedCredential {
            kind,
            provider_id,
            name,
            description: Some(description),
            verification,
            attribute_mapping: some(attribute_mapping),
        },
    )
    .await
    .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "set_federated_credential_enabled")]
pub async fn set_federated_credential_enabled(
    client: String,
    credential: String,
    enabled: bool,
) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .set_federated_credential_enabled(&client, &credential, enabled)
        .await
        .map_err(ssr::err)
        .map(|_| ())
}

#[server(prefix = "/console/api", endpoint = "delete_federated_credential")]
pub async fn delete_federated_credential(
    client: String,
    credential: String,
) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .delete_federated_credential(&client, &credential)
        .await
        .map_err(ssr::err)
}

// --- Asset Management › Credential ---------------------------------------

#[server(prefix = "/console/api", endpoint = "list_credentials")]
pub async fn list_credentials() -> Result<Vec<CredentialView>, ServerFnError> {
    ssr::admin()
        .await?
        .list_credentials()
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "get_credential")]
pub async fn get_credential(id: String) -> Result<CredentialView, ServerFnError> {
    ssr::admin()
        .await?
        .get_credential(&id)
        .await
        .map_err(ssr::err)
}

/// The API key goes in once; it is sealed and never sent back.
/// Creates a vault credential (API key or AccessKey pair) from the form.
#[server(prefix = "/console/api", endpoint = "create_credential")]
pub async fn create_credential(input: NewCredential) -> Result<CredentialView, ServerFnError> {
    ssr::admin()
        .await?
        .create_credential(input)
        .await
        .map_err(ssr::err)
}

/// A blank `api_key` keeps the stored key.
#[server(prefix = "/console/api", endpoint = "update_credential")]
pub async fn update_credential(
    id: String,
    name: String,
    description: String,
    business_type: String,
    api_key: String,
    access_key_id: String,
    access_key_secret: String,
) -> Result<CredentialView, ServerFnError> {
    ssr::admin()
        .await?
        .update_credential(
            &id,
            CredentialUpdate {
                name: Some(name),
                description: Some(description),
                business_type: Some(business_type),
                api_key: Some(api_key),
                access_key_id: Some(access_key_id),
                access_key_secret: Some(access_key_secret),
            },
        )
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "set_credential_enabled")]
pub async fn set_credential_enabled(id: String, enabled: bool) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .set_credential_enabled(&id, enabled)
        .await
        .map_err(ssr::err)
        .map(|_| ())
}

#[server(prefix = "/console/api", endpoint = "delete_credential")]
pub async fn delete_credential(id: String) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .delete_credential(&id)
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "grant_credential")]
pub async fn grant_credential(id: String, client_id: String) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .grant_credential(&id, &client_id)
        .await
        .map_err(ssr::err)
        .map(|_| ())
}

#[server(prefix = "/console/api", endpoint = "list_credential_grants")]
pub async fn list_credential_grants(id: String) -> Result<Vec<CredentialGrantView>, ServerFnError> {
    ssr::admin()
        .await?
        .list_credential_grants(&id)
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "client_credentials")]
pub async fn client_credentials(client: String) -> Result<Vec<CredentialView>, ServerFnError> {
    ssr::admin()
        .await?
        .credentials_of_client(&client)
        .await
        .map_err(ssr::err)
}

// --- Asset Management › Credential Provider ------------------------------

#[server(prefix = "/console/api", endpoint = "list_credential_providers")]
pub async fn list_credential_providers() -> Result<Vec<CredentialProviderView>, ServerFnError> {
    ssr::admin()
        .await?
        .list_credential_providers()
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "get_credential_provider")]
pub async fn get_credential_provider(id: String) -> Result<CredentialProviderView, ServerFnError> {
    ssr::admin()
        .await?
        .get_credential_provider(&id)
        .await
        .map_err(ssr::err)
}

/// Scopes and issuers arrive as one line each, separated by spaces or commas.
#[cfg(feature = "ssr")]
fn words(s: &str) -> Vec<String> {
    s.split([' ', ',', '\n'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Creates an OAuth or JWT provider; fields of the other type are ignored.
/// The client secret goes in once; it is sealed and never sent back.
#[server(prefix = "/console/api", endpoint = "create_credential_provider")]
#[allow(clippy::too_many_arguments)]
pub async fn create_credential_provider(
    kind: String,
    name: String,
    description: String,
    identifier: String,
    client_id: String,
    client_secret: String,
    authorization_endpoint: String,
    token_endpoint: String,
    client_auth_method: String,
    scopes: String,
    allow_insecure_local_endpoints: bool,
    algorithm: String,
    generate_short_token: bool,
    expiration_seconds: i64,
    issuer_whitelist: String,
) -> Result<CredentialProviderView, ServerFnError> {
    let oauth = kind == "oauth";
    let opt = |s: String| (oauth && !s.trim().is_empty()).then_some(s);
    ssr::admin()
        .await?
        .create_credential_provider(NewCredentialProvider {
            name,
            description: Some(description),
            identifier,
            authorization_flow: None,
            client_id: opt(client_id),
            client_secret: opt(client_secret),
            authorization_endpoint: opt(authorization_endpoint),
            token_endpoint: opt(token_endpoint),
            client_auth_method: opt(client_auth_method),
            scopes: oauth.then(|| words(&scopes)),
            allow_insecure_local_endpoints: oauth.then_some(allow_insecure_local_endpoints),
            algorithm: (!oauth).then_some(algorithm),
            generate_short_token: (!oauth).then_some(generate_short_token),
            expiration_seconds: (!oauth).then_some(expiration_seconds),
            issuer_whitelist: (!oauth).then(|| words(&issuer_whitelist)),
            kind,
        })
        .await
        .map_err(ssr::err)
}

/// Edits a provider; a blank client secret keeps the stored one.
#[server(prefix = "/console/api", endpoint = "update_credential_provider")]
#[allow(clippy::too_many_arguments)]
pub async fn update_credential_provider(
    id: String,
    name: String,
    description: String,
    client_id: String,
    client_secret: String,
    authorization_endpoint: String,
    token_endpoint: String,
    client_auth_method: String,
    scopes: String,
    generate_short_token: bool,
    expiration_seconds: i64,
    issuer_whitelist: String,
) -> Result<CredentialProviderView, ServerFnError> {
    let w = ssr::admin().await?;
    let oauth = w.get_credential_provider(&id).await.map_err(ssr::err)?.kind == "oauth";
    w.update_credential_provider(
        &id,
        CredentialProviderUpdate {
            name: Some(name),
            description: Some(description),
            client_id: oauth.then_some(client_id),
            client_secret: oauth.then_some(client_secret),
            authorization_endpoint: oauth.then_some(authorization_endpoint),
            token_endpoint: oauth.then_some(token_endpoint),
            client_auth_method: oauth.then_some(client_auth_method),
            scopes: oauth.then(|| words(&scopes)),
            generate_short_token: (!oauth).then_some(generate_short_token),
            expiration_seconds: (!oauth).then_some(expiration_seconds),
            issuer_whitelist: (!oauth).then(|| words(&issuer_whitelist)),
            ..Default::default()
        },
    )
    .await
    .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "set_credential_provider_enabled")]
pub async fn set_credential_provider_enabled(
    id: String,
    enabled: bool,
) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .set_credential_provider_enabled(&id, enabled)
        .await
        .map_err(ssr::err)
        .map(|_| ())
}

#[server(prefix = "/console/api", endpoint = "delete_credential_provider")]
pub async fn delete_credential_provider(id: String) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .delete_credential_provider(&id)
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "grant_credential_provider")]
pub async fn grant_credential_provider(id: String, client_id: String) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .grant_credential_provider(&id, &client_id)
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "list_provider_grants")]
pub async fn list_provider_grants(id: String) -> Result<Vec<CredentialGrantView>, ServerFnError> {
    ssr::admin()
        .await?
        .list_provider_grants(&id)
        .await
        .map_err(ssr::err)
}

/// The vault's primary master key id (shown beside the re-wrap action).
#[server(prefix = "/console/api", endpoint = "master_key_id")]
pub async fn master_key_id() -> Result<String, ServerFnError> {
    Ok(ssr::admin().await?.master_key_id().to_owned())
}

/// Moves every sealed record to the primary master key; returns how many
/// records moved and how many already used it.
#[server(prefix = "/console/api", endpoint = "rewrap_master_key")]
pub async fn rewrap_master_key() -> Result<(usize, usize), ServerFnError> {
    let r = ssr::admin()
        .await?
        .rewrap_sealed()
        .await
        .map_err(ssr::err)?;
    Ok((r.rewrapped, r.already_current))
}

// --- Grants a client holds, edits and dry runs --------------------------

/// The vault credentials and credential providers a client may use.
#[server(prefix = "/console/api", endpoint = "client_asset_grants")]
pub async fn client_asset_grants(
    client: String,
) -> Result<Vec<ClientAssetGrantView>, ServerFnError> {
    ssr::admin()
        .await?
        .asset_grants_of_client(&client)
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "revoke_credential_grant")]
pub async fn revoke_credential_grant(
    credential: String,
    grant: String,
) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .revoke_credential_grant(&credential, &grant)
        .await
        .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "revoke_provider_grant")]
pub async fn revoke_provider_grant(provider: String, grant: String) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .revoke_provider_grant(&provider, &grant)
        .await
        .map_err(ssr::err)
}

/// A federated credential's edit form, as the console sends it: the
/// verification mode with its fields, the description and the mapping
/// (blank removes it). The name is fixed and not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FederatedEdit {
    pub description: String,
    pub mode: String,
    pub namespace: String,
    pub service_account: String,
    pub principal_id: String,
    pub cn: String,
    pub instance_id: String,
    pub expression: String,
    pub attribute_mapping: String,
}

impl FederatedEdit {
    /// The service's update: blank fields are absent, as on create.
    pub fn update(self) -> FederatedCredentialUpdate {
        let some = |s: String| (!s.trim().is_empty()).then_some(s);
        FederatedCredentialUpdate {
            description: Some(self.description),
            verification: Some(VerificationInput {
                mode: self.mode,
                namespace: some(self.namespace),
                service_account: some(self.service_account),
                principal_id: some(self.principal_id),
                cn: some(self.cn),
                instance_id: some(self.instance_id),
                expression: some(self.expression),
            }),
            attribute_mapping: Some(self.attribute_mapping),
            name: None,
        }
    }
}

#[server(prefix = "/console/api", endpoint = "update_federated_credential")]
pub async fn update_federated_credential(
    client: String,
    credential: String,
    edit: FederatedEdit,
) -> Result<FederatedCredentialView, ServerFnError> {
    ssr::admin()
        .await?
        .update_federated_credential(&client, &credential, edit.update())
        .await
        .map_err(ssr::err)
}

/// The edit panel's dry run: the pasted proof against the edited settings,
/// nothing saved.
#[server(prefix = "/console/api", endpoint = "test_federated_credential_update")]
pub async fn test_federated_credential_update(
    client: String,
    credential: String,
    edit: FederatedEdit,
    assertion_type: String,
    assertion: String,
    client_x509: String,
    client_x509_chain: String,
) -> Result<FederatedTestResult, ServerFnError> {
    let some = |s: String| (!s.trim().is_empty()).then_some(s);
    ssr::admin()
        .await?
        .test_federated_credential_update(
            &client,
            &credential,
            &edit.update(),
            FederatedTestRequest {
                client_assertion_type: assertion_type,
                client_assertion: assertion,
                client_x509: some(client_x509),
                client_x509_chain: some(client_x509_chain),
                ..Default::default()
            },
        )
        .await
        .map_err(ssr::err)
}

// --- Resource server lifecycle -------------------------------------------

/// `permissions` is space- or comma-separated; removing one shrinks the
/// grants that held it.
#[server(prefix = "/console/api", endpoint = "update_resource_server")]
pub async fn update_resource_server(
    id: String,
    permissions: String,
    ttl: String,
    custom_subject: bool,
) -> Result<ResourceServerView, ServerFnError> {
    let w = ssr::admin().await?;
    let ttl: i64 = ttl.trim().parse().map_err(|_| {
        ssr::status_error(
            http::StatusCode::BAD_REQUEST,
            "access token lifetime: enter a number of seconds",
        )
    })?;
    let rs = w.get_resource_server(&id).await.map_err(ssr::err)?;
    // The built-in server's permissions and subject are fixed: send only
    // what may change, so saving its lifetime is not refused.
    let (permissions, custom) = if rs.builtin {
        (None, None)
    } else {
        (Some(words(&permissions)), Some(custom_subject))
    };
    w.update_resource_server(
        &id,
        ResourceServerUpdate {
            permissions,
            access_token_ttl_seconds: Some(ttl),
            custom_subject_identity: custom,
            // Delegation is edited through the admin API for now.
            delegation: None,
        },
    )
    .await
    .map_err(ssr::err)
}

#[server(prefix = "/console/api", endpoint = "set_resource_server_enabled")]
pub async fn set_resource_server_enabled(id: String, enabled: bool) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .set_resource_server_enabled(&id, enabled)
        .await
        .map_err(ssr::err)
        .map(|_| ())
}

#[server(prefix = "/console/api", endpoint = "delete_resource_server")]
pub async fn delete_resource_server(id: String) -> Result<(), ServerFnError> {
    ssr::admin()
        .await?
        .delete_resource_server(&id)
        .await
        .map_err(ssr::err)
}

/// A page of the token audit log (the Audit page's first tab). No filter
/// at all encodes as no field: `default` reads that as an empty query.
#[server(prefix = "/console/api", endpoint = "search_audit")]
pub async fn search_audit(
    #[server(default)] query: AuditQuery,
) -> Result<AuditPage, ServerFnError> {
    ssr::admin()
        .await?
        .search_audit(&query)
        .await
        .map_err(ssr::err)
}

/// A page of the admin change log (the Audit page's second tab).
#[server(prefix = "/console/api", endpoint = "search_admin_audit")]
pub async fn search_admin_audit(
    #[server(default)] query: AdminAuditQuery,
) -> Result<AdminAuditPage, ServerFnError> {
    ssr::admin()
        .await?
        .search_admin_audit(&query)
        .await
        .map_err(ssr::err)
}
