//! Writ's identity logic.
//!
//! Everything here is plain, synchronous Rust: no HTTP, no database, no async
//! runtime. Time comes in from the caller (a `now` argument, or a [`Clock`])
//! so the rules for expiry and replay can be tested exactly. Randomness does
//! not: secrets, vault nonces and data keys, PKCE verifiers and key pairs are
//! drawn from the operating system here (see [`random`], [`signing`],
//! [`tls`]), and tests check their shape rather than their bytes.

pub mod admin_audit;
pub mod admin_token;
pub mod audit;
pub mod audit_search;
pub mod client_address;
pub mod clock;
pub mod credential_value;
pub mod discovery;
pub mod error;
pub mod federation;
pub mod grant;
pub mod hex;
pub mod jwt_provider;
pub mod key_rotation;
pub mod names;
pub mod oauth_provider;
pub mod outbound;
pub mod public_key;
pub mod random;
pub mod scope;
pub mod sdk_config;
pub mod secret;
pub mod signing;
pub mod throttle;
pub mod tls;
pub mod vault;

#[cfg(any(test, feature = "test-fixtures"))]
pub mod testing;

pub use clock::{Clock, SystemClock};
pub use error::{OAuthError, OAuthErrorCode};

/// The one authorization server Writ runs today; the SDK's issuer paths name it.
pub const AUTHORIZATION_SERVER_ID: &str = "iauths_system";
/// Audience of the built-in resource server that guards the developer API.
pub const PAM_AUDIENCE: &str = "urn:cloud:idaas:pam";
/// The grant every new client gets, and the generated configuration's default scope.
pub const PAM_ALL_SCOPE: &str = "urn:cloud:idaas:pam|.all";
/// Permissions of the built-in developer-API resource server.
pub const PAM_PERMISSIONS: &[&str] = &[
    "cloud_account:obtain_access_credential",
    "credential:obtain",
    "authentication_token:fetch",
    "authentication_token:generate",
    "authentication_token:manage",
];
