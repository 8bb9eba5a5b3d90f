//! Admin REST API under `/api/admin/v1`, `Authorization: Bearer <admin token>`.
//! Each handler is a line or two over the service layer the console uses.

use super::errors::{ApiError, bad_request};
use super::{admin_tokens_api, audit_api, credentials_api, signing_keys_api};
use crate::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use utoipa::OpenApi;
use writ_types::*;

type ApiResult<T> = Result<Json<T>, ApiError>;

#[derive(OpenApi)]
#[openapi(
    info(title = "Writ admin API", description = "Manage agents, M2M applications, client secrets, resource servers and grants; search the token audit log and the admin change log."),
    paths(issuer, create_agent, list_agents, create_m2m, list_m2m, get_client, update_client, disable_client,
          enable_client, delete_client, add_secret, list_secrets,
          disable_secret, enable_secret, delete_secret, add_public_key, list_public_keys, disable_public_key,
          enable_public_key, delete_public_key, add_federated_credential, list_federated_credentials,
          disable_federated_credential, enable_federated_credential, delete_federated_credential, update_federated_credential,
          create_user_idp, list_user_idps, get_user_idp, update_user_idp, disable_user_idp, enable_user_idp, delete_user_idp,
          create_provider, list_providers, disable_provider, enable_provider, delete_provider, update_provider, test_federated, rewrap, rotate, sdk_config, client_audit, client_grants,
          create_resource_server, list_resource_servers, get_resource_server, update_resource_server,
          disable_resource_server, enable_resource_server, delete_resource_server, create_grant, list_grants, revoke_grant,
          credentials_api::create, credentials_api::list, credentials_api::details, credentials_api::update,
          credentials_api::disable, credentials_api::enable, credentials_api::remove, credentials_api::grant,
          credentials_api::grants, credentials_api::revoke, credentials_api::create_provider,
          credentials_api::list_providers, credentials_api::disable_provider, credentials_api::enable_provider,
          credentials_api::delete_provider, credentials_api::grant_provider,
          credentials_api::provider_details, credentials_api::update_provider, credentials_api::provider_grants,
          credentials_api::revoke_provider),
    components(schemas(ClientKind, ClientView, ClientUpdate, NewAgent, NewM2mApplication, SecretView, NewSecret, ResourceServerView,
                       NewResourceServer, ResourceServerUpdate, DelegationView, DelegationInput, NewUserIdentityProvider, UserIdentityProviderView, GrantView, NewGrant, AuditView, IssuerInfo, SdkConfigView, PublicKeyView, NewPublicKey,
                       NewFederatedProvider, FederatedProviderView, NewFederatedCredential, FederatedCredentialView, FederatedCredentialUpdate, VerificationInput,
                       FederatedTestRequest, FederatedTestResult, FederatedCheckView, NewSecretRequest,
                       NewCredential, CredentialUpdate, CredentialView, CredentialProviderUpdate, CredentialGrantView, credentials_api::NewCredentialGrant,
                       NewCredentialProvider, CredentialProviderView)),
    modifiers(&BearerAuth),
    security(("admin_token" = []))
)]
struct ApiDoc;

/// The whole admin API's document: this file's paths and those of the
/// route files that keep their own `OpenApi` struct.
fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
        .merge_from(admin_tokens_api::AdminTokensDoc::openapi())
        .merge_from(signing_keys_api::SigningKeysDoc::openapi())
        .merge_from(audit_api::AuditDoc::openapi())
}

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "admin_token",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The admin API's route table. Long because it lists every route: one
/// table to read is clearer than routes spread over many functions.
pub fn router(state: AppState) -> Router<AppState> {
    let protected = Router::new()
        .route("/issuer", get(issuer))
        .route("/agents", post(create_agent).get(list_agents))
        .route("/m2m-applications", post(create_m2m).get(list_m2m))
        .route(
            "/{collection}/{id}",
            get(get_client).patch(update_client).delete(delete_client),
        )
        .route("/{collection}/{id}/disable", post(disable_client))
        .route("/{collection}/{id}/enable", post(enable_client))
        .route(
            "/{collection}/{id}/client-secrets",
            post(add_secret).get(list_secrets),
        )
        .route(
            "/{collection}/{id}/client-secrets/{sid}/disable",
            post(disable_secret),
        )
        .route(
            "/{collection}/{id}/client-secrets/{sid}/enable",
            post(enable_secret),
        )
        .route(
            "/{collection}/{id}/client-secrets/{sid}",
            delete(delete_secret),
        )
        .route(
            "/{collection}/{id}/public-keys",
            post(add_public_key).get(list_public_keys),
        )
        .route(
            "/{collection}/{id}/public-keys/{kid}/disable",
            post(disable_public_key),
        )
        .route(
            "/{collection}/{id}/public-keys/{kid}/enable",
            post(enable_public_key),
        )
        .route(
            "/{collection}/{id}/public-keys/{kid}",
            delete(delete_public_key),
        )
        .route(
            "/{collection}/{id}/federated-credentials",
            post(add_federated_credential).get(list_federated_credentials),
        )
        .route(
            "/{collection}/{id}/federated-credentials/{fid}/disable",
            post(disable_federated_credential),
        )
        .route(
            "/{collection}/{id}/federated-credentials/{fid}/enable",
            post(enable_federated_credential),
        )
        .route(
            "/{collection}/{id}/federated-credentials/{fid}",
            delete(delete_federated_credential).patch(update_federated_credential),
        )
        .route(
            "/user-identity-providers",
            post(create_user_idp).get(list_user_idps),
        )
        .route(
            "/user-identity-providers/{id}",
            get(get_user_idp)
                .patch(update_user_idp)
                .delete(delete_user_idp),
        )
        .route(
            "/user-identity-providers/{id}/disable",
            post(disable_user_idp),
        )
        .route(
            "/user-identity-providers/{id}/enable",
            post(enable_user_idp),
        )
        .route(
            "/federated-credential-providers",
            post(create_provider).get(list_providers),
        )
        .route(
            "/federated-credential-providers/{id}/disable",
            post(disable_provider),
        )
        .route(
            "/federated-credential-providers/{id}/enable",
            post(enable_provider),
        )
        .route(
            "/federated-credential-providers/{id}",
            delete(delete_provider).patch(update_provider),
        )
        .route("/federated-credentials/test", post(test_federated))
        .route("/master-key/rewrap", post(rewrap))
        .route("/master-keys/rotate", post(rotate))
        .route("/{collection}/{id}/sdk-config", get(sdk_config))
        .route("/{collection}/{id}/audit", get(client_audit))
        .route("/{collection}/{id}/grants", get(client_grants))
        .route(
            "/resource-servers",
            post(create_resource_server).get(list_resource_servers),
        )
        .route(
            "/resource-servers/{id}",
            get(get_resource_server)
                .patch(update_resource_server)
                .delete(delete_resource_server),
        )
        .route(
            "/resource-servers/{id}/disable",
            post(disable_resource_server),
        )
        .route(
            "/resource-servers/{id}/enable",
            post(enable_resource_server),
        )
        .route(
            "/resource-servers/{id}/grants",
            post(create_grant).get(list_grants),
        )
        .route("/resource-servers/{id}/grants/{gid}", delete(revoke_grant))
        .merge(super::credentials_api::routes())
        .merge(admin_tokens_api::routes())
        .merge(signing_keys_api::routes())
        .merge(audit_api::routes())
        .route_layer(middleware::from_fn_with_state(state, require_admin_token));
    Router::new()
        .route("/openapi.json", get(|| async { Json(openapi()) }))
        .merge(protected)
        .layer(DefaultBodyLimit::max(64 * 1024))
        .fallback(|| async { ApiError(writ_service::ServiceError::NotFound("endpoint")) })
}

/// Lets a live admin token through, and names its caller for the admin
/// change log: the handler runs as that token ([`writ_service::Actor`]).
pub(super) async fn require_admin_token(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    let source = req
        .extensions()
        .get::<super::ClientAddr>()
        .map(super::ClientAddr::source)
        .unwrap_or_default();
    match state.writ.authenticate_admin_token(&token).await {
        Ok(Some(t)) => {
            writ_service::Actor::api_token(&t.id, &t.name, &source)
                .scope(next.run(req))
                .await
        }
        Ok(None) => ApiError(writ_service::ServiceError::Unauthenticated).into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

fn body<T>(r: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    r.map(|Json(v)| v)
        .map_err(|e| bad_request(format!("request body: {}", e.body_text())))
}

fn kind(collection: &str) -> Result<ClientKind, ApiError> {
    match collection {
        "agents" => Ok(ClientKind::Agent),
        "m2m-applications" => Ok(ClientKind::M2m),
        _ => Err(ApiError(writ_service::ServiceError::NotFound("endpoint"))),
    }
}

/// Resolves `/{collection}/{id}` to a client of that kind.
async fn client_of(state: &AppState, collection: &str, id: &str) -> Result<ClientView, ApiError> {
    Ok(state.writ.get_client_of_kind(id, kind(collection)?).await?)
}

#[utoipa::path(get, path = "/api/admin/v1/issuer", responses((status = 200, body = IssuerInfo)))]
async fn issuer(State(s): State<AppState>) -> Json<IssuerInfo> {
    Json(s.writ.issuer_info())
}

#[utoipa::path(post, path = "/api/admin/v1/agents", request_body = NewAgent, responses((status = 201, body = ClientView)))]
async fn create_agent(
    State(s): State<AppState>,
    b: Result<Json<NewAgent>, JsonRejection>,
) -> Result<(StatusCode, Json<ClientView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.writ.create_agent(body(b)?).await?),
    ))
}

#[utoipa::path(get, path = "/api/admin/v1/agents", responses((status = 200, body = Vec<ClientView>)))]
async fn list_agents(State(s): State<AppState>) -> ApiResult<Vec<ClientView>> {
    Ok(Json(s.writ.list_clients(ClientKind::Agent).await?))
}

#[utoipa::path(post, path = "/api/admin/v1/m2m-applications", request_body = NewM2mApplication, responses((status = 201, body = ClientView)))]
async fn create_m2m(
    State(s): State<AppState>,
    b: Result<Json<NewM2mApplication>, JsonRejection>,
) -> Result<(StatusCode, Json<ClientView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.writ.create_m2m_application(body(b)?).await?),
    ))
}

#[utoipa::path(get, path = "/api/admin/v1/m2m-applications", responses((status = 200, body = Vec<ClientView>)))]
async fn list_m2m(State(s): State<AppState>) -> ApiResult<Vec<ClientView>> {
    Ok(Json(s.writ.list_clients(ClientKind::M2m).await?))
}

#[utoipa::path(get, path = "/api/admin/v1/{collection}/{id}",
    params(("collection" = String, Path, description = "agents or m2m-applications"), ("id" = String, Path)),
    responses((status = 200, body = ClientView), (status = 404)))]
async fn get_client(
    State(s): State<AppState>,
    Path((c, id)): Path<(String, String)>,
) -> ApiResult<ClientView> {
    Ok(Json(client_of(&s, &c, &id).await?))
}

#[utoipa::path(patch, path = "/api/admin/v1/{collection}/{id}",
    params(("collection" = String, Path, description = "agents or m2m-applications"), ("id" = String, Path)),
    request_body = ClientUpdate, responses((status = 200, body = ClientView), (status = 400), (status = 404)))]
async fn update_client(
    State(s): State<AppState>,
    Path((c, id)): Path<(String, String)>,
    b: Result<Json<ClientUpdate>, JsonRejection>,
) -> ApiResult<ClientView> {
    Ok(Json(s.writ.update_client(&id, kind(&c)?, body(b)?).await?))
}

/// Cuts the client off at once: its token requests get `invalid_client`
/// and the developer API refuses the tokens it holds.
#[utoipa::path(post, path = "/api/admin/v1/{collection}/{id}/disable",
    params(("collection" = String, Path, description = "agents or m2m-applications"), ("id" = String, Path)),
    responses((status = 200, body = ClientView), (status = 404)))]
async fn disable_client(
    State(s): State<AppState>,
    Path((c, id)): Path<(String, String)>,
) -> ApiResult<ClientView> {
    Ok(Json(
        s.writ.set_client_enabled(&id, kind(&c)?, false).await?,
    ))
}

#[utoipa::path(post, path = "/api/admin/v1/{collection}/{id}/enable",
    params(("collection" = String, Path, description = "agents or m2m-applications"), ("id" = String, Path)),
    responses((status = 200, body = ClientView), (status = 404)))]
async fn enable_client(
    State(s): State<AppState>,
    Path((c, id)): Path<(String, String)>,
) -> ApiResult<ClientView> {
    Ok(Json(s.writ.set_client_enabled(&id, kind(&c)?, true).await?))
}

/// Deletes a disabled client with its credentials and grants; audit stays.
#[utoipa::path(delete, path = "/api/admin/v1/{collection}/{id}",
    params(("collection" = String, Path, description = "agents or m2m-applications"), ("id" = String, Path)),
    responses((status = 204), (status = 404), (status = 409, description = "The client is still enabled")))]
async fn delete_client(
    State(s): State<AppState>,
    Path((c, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.writ.delete_client(&id, kind(&c)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/admin/v1/{collection}/{id}/client-secrets",
    params(("collection" = String, Path), ("id" = String, Path)), request_body = Option<NewSecretRequest>,
    responses((status = 201, body = NewSecret, description = "The secret is in this response only")))]
async fn add_secret(
    State(s): State<AppState>,
    Path((c, id)): Path<(String, String)>,
    raw: axum::body::Bytes,
) -> Result<(StatusCode, Json<NewSecret>), ApiError> {
    let client = client_of(&s, &c, &id).await?;
    // The body is optional: none, empty, or {"allow_client_secret_jwt": true}.
    let opts: NewSecretRequest = if raw.iter().all(u8::is_ascii_whitespace) {
        NewSecretRequest::default()
    } else {
        serde_json::from_slice(&raw).map_err(|e| bad_request(format!("request body: {e}")))?
    };
    let allow_jwt = opts.allow_client_secret_jwt.unwrap_or(false);
    Ok((
        StatusCode::CREATED,
        Json(s.writ.add_client_secret(&client.id, allow_jwt).await?),
    ))
}

/// Re-wraps every sealed record under the primary master key (after a
/// rotation: new key in WRIT_MASTER_KEY, old one in WRIT_PREVIOUS_MASTER_KEYS).
#[utoipa::path(post, path = "/api/admin/v1/master-key/rewrap",
    responses((status = 200, description = "{rewrapped, already_current, changed_meanwhile, failed, master_key_id}")))]
async fn rewrap(State(s): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let r = s.writ.rewrap_sealed().await?;
    Ok(Json(serde_json::json!({
        "rewrapped": r.rewrapped,
        "already_current": r.already_current,
        "changed_meanwhile": r.changed_meanwhile,
        "failed": r.failed,
        "master_key_id": s.writ.master_key_id(),
    })))
}

/// Completes a master-key rotation: the key Writ started with as primary
/// (WRIT_MASTER_KEY) becomes the one every record is sealed under; the old
/// key (in WRIT_PREVIOUS_MASTER_KEYS) may be dropped afterwards. The same
/// operation as `master-key/rewrap`, named as operators look for it.
#[utoipa::path(post, path = "/api/admin/v1/master-keys/rotate",
    responses((status = 200, description = "{rewrapped, already_current, changed_meanwhile, failed, master_key_id}")))]
async fn rotate(state: State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    rewrap(state).await
}

#[utoipa::path(get, path = "/api/admin/v1/{collection}/{id}/client-secrets",
    params(("collection" = String, Path), ("id" = String, Path)), responses((status = 200, body = Vec<SecretView>)))]
async fn list_secrets(
    State(s): State<AppState>,
    Path((c, id)): Path<(String, String)>,
) -> ApiResult<Vec<SecretView>> {
    let client = client_of(&s, &c, &id).await?;
    Ok(Json(s.writ.list_client_secrets(&client.id).await?))
}

#[utoipa::path(post, path = "/api/admin/v1/{collection}/{id}/client-secrets/{sid}/disable",
    params(("collection" = String, Path), ("id" = String, Path), ("sid" = String, Path)), responses((status = 200, body = SecretView)))]
async fn disable_secret(
    State(s): State<AppState>,
    Path((c, id, sid)): Path<(String, String, String)>,
) -> ApiResult<SecretView> {
    let client = client_of(&s, &c, &id).await?;
    Ok(Json(
        s.writ
            .set_client_secret_enabled(&client.id, &sid, false)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/admin/v1/{collection}/{id}/client-secrets/{sid}/enable",
    params(("collection" = String, Path), ("id" = String, Path), ("sid" = String, Path)), responses((status = 200, body = SecretView)))]
async fn enable_secret(
    State(s): State<AppState>,
    Path((c, id, sid)): Path<(String, String, String)>,
) -> ApiResult<SecretView> {
    let client = client_of(&s, &c, &id).await?;
    Ok(Json(
        s.writ
            .set_client_secret_enabled(&client.id, &sid, true)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/admin/v1/{collection}/{id}/client-secrets/{sid}",
    params(("collection" = String, Path), ("id" = String, Path), ("sid" = String, Path)),
    responses((status = 204), (status = 409, description = "The secret is still enabled")))]
async fn delete_secret(
    State(s): State<AppState>,
    Path((c, id, sid)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let client = client_of(&s, &c, &id).await?;
    s.writ.delete_client_secret(&client.id, &sid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/admin/v1/{collection}/{id}/public-keys",
    params(("collection" = String, Path), ("id" = String, Path)), request_body = NewPublicKey,
    responses((status = 201, body = PublicKeyView), (status = 400), (status = 409)))]
async fn add_public_key(
    State(s): State<AppState>,
    Path((c, id)): Path<(String, String)>,
    b: Result<Json<NewPublicKey>, JsonRejection>,
) -> Result<(StatusCode, Json<PublicKeyView>), ApiError> {
    let client = client_of(&s, &c, &id).await?;
    Ok((
        StatusCode::CREATED,
        Json(s.writ.add_public_key(&client.id, body(b)?).await?),
    ))
}

#[utoipa::path(get, path = "/api/admin/v1/{collection}/{id}/public-keys",
    params(("collection" = String, Path), ("id" = String, Path)), responses((status = 200, body = Vec<PublicKeyView>)))]
async fn list_public_keys(
    State(s): State<AppState>,
    Path((c, id)): Path<(String, String)>,
) -> ApiResult<Vec<PublicKeyView>> {
    let client = client_of(&s, &c, &id).await?;
    Ok(Json(s.writ.list_public_keys(&client.id).await?))
}

#[utoipa::path(post, path = "/api/admin/v1/{collection}/{id}/public-keys/{kid}/disable",
    params(("collection" = String, Path), ("id" = String, Path), ("kid" = String, Path, description = "the key's id")), responses((status = 200, body = PublicKeyView)))]
async fn disable_public_key(
    State(s): State<AppState>,
    Path((c, id, kid)): Path<(String, String, String)>,
) -> ApiResult<PublicKeyView> {
    let client = client_of(&s, &c, &id).await?;
    Ok(Json(
        s.writ
            .set_public_key_enabled(&client.id, &kid, false)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/admin/v1/{collection}/{id}/public-keys/{kid}/enable",
    params(("collection" = String, Path), ("id" = String, Path), ("kid" = String, Path)), responses((status = 200, body = PublicKeyView)))]
async fn enable_public_key(
    State(s): State<AppState>,
    Path((c, id, kid)): Path<(String, String, String)>,
) -> ApiResult<PublicKeyView> {
    let client = client_of(&s, &c, &id).await?;
    Ok(Json(
        s.writ
            .set_public_key_enabled(&client.id, &kid, true)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/admin/v1/{collection}/{id}/public-keys/{kid}",
    params(("collection" = String, Path), ("id" = String, Path), ("kid" = String, Path)),
    responses((status = 204), (status = 409, description = "The key is still enabled")))]
async fn delete_public_key(
    State(s): State<AppState>,
    Path((c, id, kid)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let client = client_of(&s, &c, &id).await?;
    s.writ.delete_public_key(&client.id, &kid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/admin/v1/{collection}/{id}/federated-credentials",
    params(("collection" = String, Path), ("id" = String, Path)), request_body = NewFederatedCredential,
    responses((status = 201, body = FederatedCredentialView), (status = 400), (status = 409)))]
async fn add_federated_credential(
    State(s): State<AppState>,
    Path((c, id)): Path<(String, String)>,
    b: Result<Json<NewFederatedCredential>, JsonRejection>,
) -> Result<(StatusCode, Json<FederatedCredentialView>), ApiError> {
    let client = client_of(&s, &c, &id).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            s.writ
                .create_federated_credential(&client.id, body(b)?)
                .await?,
        ),
    ))
}

#[utoipa::path(get, path = "/api/admin/v1/{collection}/{id}/federated-credentials",
    params(("collection" = String, Path), ("id" = String, Path)), responses((status = 200, body = Vec<FederatedCredentialView>)))]
async fn list_federated_credentials(
    State(s): State<AppState>,
    Path((c, id)): Path<(String, String)>,
) -> ApiResult<Vec<FederatedCredentialView>> {
    let client = client_of(&s, &c, &id).await?;
    Ok(Json(s.writ.list_federated_credentials(&client.id).await?))
}

#[utoipa::path(post, path = "/api/admin/v1/{collection}/{id}/federated-credentials/{fid}/disable",
    params(("collection" = String, Path), ("id" = String, Path), ("fid" = String, Path)), responses((status = 200, body = FederatedCredentialView)))]
async fn disable_federated_credential(
    State(s): State<AppState>,
    Path((c, id, fid)): Path<(String, String, String)>,
) -> ApiResult<FederatedCredentialView> {
    let client = client_of(&s, &c, &id).await?;
    Ok(Json(
        s.writ
            .set_federated_credential_enabled(&client.id, &fid, false)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/admin/v1/{collection}/{id}/federated-credentials/{fid}/enable",
    params(("collection" = String, Path), ("id" = String, Path), ("fid" = String, Path)), responses((status = 200, body = FederatedCredentialView)))]
async fn enable_federated_credential(
    State(s): State<AppState>,
    Path((c, id, fid)): Path<(String, String, String)>,
) -> ApiResult<FederatedCredentialView> {
    let client = client_of(&s, &c, &id).await?;
    Ok(Json(
        s.writ
            .set_federated_credential_enabled(&client.id, &fid, true)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/admin/v1/{collection}/{id}/federated-credentials/{fid}",
    params(("collection" = String, Path), ("id" = String, Path), ("fid" = String, Path)), responses((status = 204), (status = 409)))]
async fn delete_federated_credential(
    State(s): State<AppState>,
    Path((c, id, fid)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let client = client_of(&s, &c, &id).await?;
    s.writ.delete_federated_credential(&client.id, &fid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/admin/v1/user-identity-providers", request_body = NewUserIdentityProvider,
    responses((status = 201, body = UserIdentityProviderView), (status = 400), (status = 409)))]
async fn create_user_idp(
    State(s): State<AppState>,
    b: Result<Json<NewUserIdentityProvider>, JsonRejection>,
) -> Result<(StatusCode, Json<UserIdentityProviderView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.writ.create_user_identity_provider(body(b)?).await?),
    ))
}

#[utoipa::path(get, path = "/api/admin/v1/user-identity-providers", responses((status = 200, body = Vec<UserIdentityProviderView>)))]
async fn list_user_idps(State(s): State<AppState>) -> ApiResult<Vec<UserIdentityProviderView>> {
    Ok(Json(s.writ.list_user_identity_providers().await?))
}

#[utoipa::path(get, path = "/api/admin/v1/user-identity-providers/{id}", params(("id" = String, Path)), responses((status = 200, body = UserIdentityProviderView)))]
async fn get_user_idp(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<UserIdentityProviderView> {
    Ok(Json(s.writ.get_user_identity_provider(&id).await?))
}

/// Edits a user identity provider: a JSON merge patch (RFC 7396) over the
/// create body's fields; `null` clears one. The name is fixed once saved.
#[utoipa::path(patch, path = "/api/admin/v1/user-identity-providers/{id}", params(("id" = String, Path)),
    request_body(content = Object, content_type = "application/merge-patch+json"),
    responses((status = 200, body = UserIdentityProviderView), (status = 400)))]
async fn update_user_idp(
    State(s): State<AppState>,
    Path(id): Path<String>,
    b: Result<Json<serde_json::Value>, JsonRejection>,
) -> ApiResult<UserIdentityProviderView> {
    Ok(Json(
        s.writ.update_user_identity_provider(&id, &body(b)?).await?,
    ))
}

#[utoipa::path(post, path = "/api/admin/v1/user-identity-providers/{id}/disable", params(("id" = String, Path)), responses((status = 200, body = UserIdentityProviderView)))]
async fn disable_user_idp(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<UserIdentityProviderView> {
    Ok(Json(
        s.writ
            .set_user_identity_provider_enabled(&id, false)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/admin/v1/user-identity-providers/{id}/enable", params(("id" = String, Path)), responses((status = 200, body = UserIdentityProviderView)))]
async fn enable_user_idp(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<UserIdentityProviderView> {
    Ok(Json(
        s.writ.set_user_identity_provider_enabled(&id, true).await?,
    ))
}

#[utoipa::path(delete, path = "/api/admin/v1/user-identity-providers/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 409, description = "Still enabled")))]
async fn delete_user_idp(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.writ.delete_user_identity_provider(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/admin/v1/federated-credential-providers", request_body = NewFederatedProvider,
    responses((status = 201, body = FederatedProviderView), (status = 400), (status = 409)))]
async fn create_provider(
    State(s): State<AppState>,
    b: Result<Json<NewFederatedProvider>, JsonRejection>,
) -> Result<(StatusCode, Json<FederatedProviderView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.writ.create_federated_provider(body(b)?).await?),
    ))
}

#[utoipa::path(get, path = "/api/admin/v1/federated-credential-providers", responses((status = 200, body = Vec<FederatedProviderView>)))]
async fn list_providers(State(s): State<AppState>) -> ApiResult<Vec<FederatedProviderView>> {
    Ok(Json(s.writ.list_federated_providers().await?))
}

#[utoipa::path(post, path = "/api/admin/v1/federated-credential-providers/{id}/disable", params(("id" = String, Path)), responses((status = 200, body = FederatedProviderView)))]
async fn disable_provider(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<FederatedProviderView> {
    Ok(Json(
        s.writ.set_federated_provider_enabled(&id, false).await?,
    ))
}

#[utoipa::path(post, path = "/api/admin/v1/federated-credential-providers/{id}/enable", params(("id" = String, Path)), responses((status = 200, body = FederatedProviderView)))]
async fn enable_provider(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<FederatedProviderView> {
    Ok(Json(
        s.writ.set_federated_provider_enabled(&id, true).await?,
    ))
}

#[utoipa::path(delete, path = "/api/admin/v1/federated-credential-providers/{id}", params(("id" = String, Path)), responses((status = 204), (status = 409)))]
async fn delete_provider(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.writ.delete_federated_provider(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Edits a provider: a JSON merge patch (RFC 7396) over the create body's
/// fields; `null` clears one. Type and name are fixed once saved.
#[utoipa::path(patch, path = "/api/admin/v1/federated-credential-providers/{id}", params(("id" = String, Path)),
    request_body(content = Object, content_type = "application/merge-patch+json"),
    responses((status = 200, body = FederatedProviderView), (status = 400)))]
async fn update_provider(
    State(s): State<AppState>,
    Path(id): Path<String>,
    b: Result<Json<serde_json::Value>, JsonRejection>,
) -> ApiResult<FederatedProviderView> {
    Ok(Json(
        s.writ.update_federated_provider(&id, &body(b)?).await?,
    ))
}

/// The Test credential panel's dry run: the token endpoint's federated
/// checks on the given fields, each with its outcome; nothing is issued.
#[utoipa::path(post, path = "/api/admin/v1/federated-credentials/test", request_body = FederatedTestRequest,
    responses((status = 200, body = FederatedTestResult), (status = 400)))]
async fn test_federated(
    State(s): State<AppState>,
    b: Result<Json<FederatedTestRequest>, JsonRejection>,
) -> ApiResult<FederatedTestResult> {
    Ok(Json(s.writ.test_federated_credential(body(b)?).await?))
}

#[utoipa::path(get, path = "/api/admin/v1/{collection}/{id}/sdk-config",
    params(("collection" = String, Path), ("id" = String, Path), SdkConfigRequest),
    responses((status = 200, description = "client-config.json", body = Object)))]
async fn sdk_config(
    State(s): State<AppState>,
    Path((c, id)): Path<(String, String)>,
    q: Result<Query<SdkConfigRequest>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| bad_request(e.body_text()))?;
    let client = client_of(&s, &c, &id).await?;
    let view = s.writ.client_config(&client.id, &q).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], view.json).into_response())
}

#[utoipa::path(get, path = "/api/admin/v1/{collection}/{id}/audit",
    params(("collection" = String, Path), ("id" = String, Path)), responses((status = 200, body = Vec<AuditView>)))]
async fn client_audit(
    State(s): State<AppState>,
    Path((c, id)): Path<(String, String)>,
) -> ApiResult<Vec<AuditView>> {
    let client = client_of(&s, &c, &id).await?;
    Ok(Json(s.writ.recent_audit(&client.id, 100).await?))
}

#[utoipa::path(get, path = "/api/admin/v1/{collection}/{id}/grants",
    params(("collection" = String, Path), ("id" = String, Path)), responses((status = 200, body = Vec<GrantView>)))]
async fn client_grants(
    State(s): State<AppState>,
    Path((c, id)): Path<(String, String)>,
) -> ApiResult<Vec<GrantView>> {
    let client = client_of(&s, &c, &id).await?;
    Ok(Json(s.writ.grants_of_client(&client.id).await?))
}

#[utoipa::path(post, path = "/api/admin/v1/resource-servers", request_body = NewResourceServer, responses((status = 201, body = ResourceServerView), (status = 409)))]
async fn create_resource_server(
    State(s): State<AppState>,
    b: Result<Json<NewResourceServer>, JsonRejection>,
) -> Result<(StatusCode, Json<ResourceServerView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.writ.create_resource_server(body(b)?).await?),
    ))
}

#[utoipa::path(get, path = "/api/admin/v1/resource-servers", responses((status = 200, body = Vec<ResourceServerView>)))]
async fn list_resource_servers(State(s): State<AppState>) -> ApiResult<Vec<ResourceServerView>> {
    Ok(Json(s.writ.list_resource_servers().await?))
}

#[utoipa::path(get, path = "/api/admin/v1/resource-servers/{id}", params(("id" = String, Path)), responses((status = 200, body = ResourceServerView)))]
async fn get_resource_server(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<ResourceServerView> {
    Ok(Json(s.writ.get_resource_server(&id).await?))
}

#[utoipa::path(post, path = "/api/admin/v1/resource-servers/{id}/grants", params(("id" = String, Path)), request_body = NewGrant, responses((status = 201, body = GrantView)))]
async fn create_grant(
    State(s): State<AppState>,
    Path(id): Path<String>,
    b: Result<Json<NewGrant>, JsonRejection>,
) -> Result<(StatusCode, Json<GrantView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.writ.grant_permissions(&id, body(b)?).await?),
    ))
}

#[utoipa::path(get, path = "/api/admin/v1/resource-servers/{id}/grants", params(("id" = String, Path)), responses((status = 200, body = Vec<GrantView>)))]
async fn list_grants(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Vec<GrantView>> {
    Ok(Json(s.writ.list_grants(&id).await?))
}

#[utoipa::path(delete, path = "/api/admin/v1/resource-servers/{id}/grants/{gid}", params(("id" = String, Path), ("gid" = String, Path)), responses((status = 204)))]
async fn revoke_grant(
    State(s): State<AppState>,
    Path((id, gid)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.writ.revoke_grant(&id, &gid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(patch, path = "/api/admin/v1/resource-servers/{id}", params(("id" = String, Path)),
    request_body = ResourceServerUpdate,
    responses((status = 200, body = ResourceServerView), (status = 400), (status = 409, description = "The built-in resource server's permissions are fixed")))]
async fn update_resource_server(
    State(s): State<AppState>,
    Path(id): Path<String>,
    b: Result<Json<ResourceServerUpdate>, JsonRejection>,
) -> ApiResult<ResourceServerView> {
    Ok(Json(s.writ.update_resource_server(&id, body(b)?).await?))
}

#[utoipa::path(post, path = "/api/admin/v1/resource-servers/{id}/disable", params(("id" = String, Path)),
    responses((status = 200, body = ResourceServerView), (status = 409, description = "The built-in resource server stays enabled")))]
async fn disable_resource_server(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<ResourceServerView> {
    Ok(Json(s.writ.set_resource_server_enabled(&id, false).await?))
}

#[utoipa::path(post, path = "/api/admin/v1/resource-servers/{id}/enable", params(("id" = String, Path)),
    responses((status = 200, body = ResourceServerView)))]
async fn enable_resource_server(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<ResourceServerView> {
    Ok(Json(s.writ.set_resource_server_enabled(&id, true).await?))
}

#[utoipa::path(delete, path = "/api/admin/v1/resource-servers/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 409, description = "Still enabled, or the built-in resource server")))]
async fn delete_resource_server(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.writ.delete_resource_server(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Edits a federated credential's description, verification and attribute
/// mapping; `name` in the body is refused (it stays fixed).
#[utoipa::path(patch, path = "/api/admin/v1/{collection}/{id}/federated-credentials/{fid}",
    params(("collection" = String, Path), ("id" = String, Path), ("fid" = String, Path)),
    request_body = FederatedCredentialUpdate,
    responses((status = 200, body = FederatedCredentialView), (status = 400, description = "An invalid verification or expression, or a name: nothing changed")))]
async fn update_federated_credential(
    State(s): State<AppState>,
    Path((c, id, fid)): Path<(String, String, String)>,
    b: Result<Json<FederatedCredentialUpdate>, JsonRejection>,
) -> ApiResult<FederatedCredentialView> {
    let client = client_of(&s, &c, &id).await?;
    Ok(Json(
        s.writ
            .update_federated_credential(&client.id, &fid, body(b)?)
            .await?,
    ))
}
