//! The token endpoint's form parser (`grant/token_request.rs`) and what the
//! endpoint reads from its result: the grant type, the authentication
//! kind, Basic / form secrets (`grant/client_auth.rs`), a jwt-bearer
//! assertion and a federated credential's proof.
//!
//! Input: `<Content-Type>\n<Authorization>\n<body>`; an empty line is a
//! header not sent. Input without two newlines is all body, sent as a form
//! with no Authorization header.
//!
//! Oracle: no panic; the bounds `federated` promises hold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use writ_core::grant::token_request::{
    AuthenticationKind, MAX_CLIENT_ID, MAX_CREDENTIAL_NAME, TokenRequest,
};
use writ_fuzz::split_at_byte;
use writ_types::ProviderKind;

const FORM: &[u8] = b"application/x-www-form-urlencoded";

fuzz_target!(|data: &[u8]| {
    let (content_type, authorization, body) = match split_at_byte(data, b'\n') {
        (ct, Some(rest)) => match split_at_byte(rest, b'\n') {
            (auth, Some(body)) => (ct, auth, body),
            _ => (FORM, &b""[..], data),
        },
        _ => (FORM, &b""[..], data),
    };
    // Header values reach core as &str only when they are UTF-8 (the
    // handler drops others), as `single_authorization` does.
    fn text(b: &[u8]) -> Option<&str> {
        (!b.is_empty())
            .then(|| std::str::from_utf8(b).ok())
            .flatten()
    }
    let (content_type, authorization) = (text(content_type), text(authorization));
    let auth_values: Vec<&[u8]> = authorization.iter().map(|a| a.as_bytes()).collect();
    let single = TokenRequest::single_authorization(auth_values.into_iter());
    assert_eq!(single.ok().flatten(), authorization);

    let Ok(req) = TokenRequest::from_form(content_type, authorization, body, "203.0.113.7".into())
    else {
        return;
    };
    let _ = req.check_grant_type();
    assert!(req.client_id_for_audit().chars().count() <= MAX_CLIENT_ID);
    let kind = req.authentication_kind();
    match kind {
        AuthenticationKind::Secret => {
            let _ = req.presented_client();
        }
        AuthenticationKind::JwtBearer => {
            if let Ok(a) = req.jwt_bearer_assertion() {
                assert!(!a.is_empty());
                let _ = writ_core::grant::jwt_bearer::claimed_client_id(a);
                let _ = writ_core::grant::jwt_bearer::is_hmac(a);
            }
        }
        AuthenticationKind::Federated(_) | AuthenticationKind::Unsupported(_) => {}
    }
    // Every method is read whatever the kind: each must refuse, never panic.
    let _ = req.presented_client();
    let _ = req.jwt_bearer_assertion();
    for k in [ProviderKind::Oidc, ProviderKind::Pca, ProviderKind::Pkcs7] {
        if let Ok((client_id, p)) = req.federated(k) {
            assert!(!client_id.is_empty() && client_id.len() <= MAX_CLIENT_ID);
            assert!(!p.name.is_empty() && p.name.len() <= MAX_CREDENTIAL_NAME);
            assert!(!p.assertion.is_empty());
            assert_eq!(p.kind, k);
        }
    }
});
