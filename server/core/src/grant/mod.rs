//! Token issuance, one module per grant / client-authentication method.

pub mod client_auth;
pub mod client_credentials;
pub mod jwt_bearer;
pub mod token_exchange;
pub mod token_request;

pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
/// RFC 8693 §2.1.
pub const GRANT_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// Every grant type the token endpoint accepts, in the order discovery lists them.
pub const GRANT_TYPES: &[&str] = &[GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE];

/// RFC 7591 / IANA names of the client authentication methods the token
/// endpoint accepts, in the order discovery lists them. Each is what a
/// request's authentication is recorded as (audit `method`), so the list
/// and the methods cannot name different things.
pub const AUTH_CLIENT_SECRET_POST: &str = "client_secret_post";
pub const AUTH_CLIENT_SECRET_BASIC: &str = "client_secret_basic";
/// RFC 7523 `jwt-bearer` assertion signed with a registered public key.
pub const AUTH_PRIVATE_KEY_JWT: &str = "private_key_jwt";
/// RFC 7523 `jwt-bearer` assertion HMAC'd with a client secret that allows it.
pub const AUTH_CLIENT_SECRET_JWT: &str = "client_secret_jwt";

/// Every client authentication method the token endpoint accepts (the
/// federated credentials' own assertion types have no registered method
/// name, so discovery cannot list them here).
pub const TOKEN_ENDPOINT_AUTH_METHODS: &[&str] = &[
    AUTH_CLIENT_SECRET_POST,
    AUTH_CLIENT_SECRET_BASIC,
    AUTH_PRIVATE_KEY_JWT,
    AUTH_CLIENT_SECRET_JWT,
];
