//! Verification expressions, trust conditions and attribute mappings
//! (`federation/expr.rs`): compile what an admin could type, and if it
//! compiles, evaluate it against a small fixed input of its credential type.
//!
//! Input: one byte choosing the credential type and the result type (its
//! value mod 6: `0`/`1` OIDC, `2`/`3` PCA, `4`/`5` PKCS#7; even = a
//! condition (bool), odd = a mapping (string)), then the expression (UTF-8).
//! Seeds start with an ASCII digit, so they read as `0jwt.claims.sub == 'x'`.
//!
//! Oracle: no panic, and no stack overflow on a tokio worker's 2 MiB stack
//! (the admin API compiles on one, the token endpoint evaluates on one).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use std::sync::LazyLock;
use writ_core::federation::expr::{Domain, Expression, Input, Produces};
use writ_fuzz::on_worker_stack;

static INPUTS: LazyLock<[Input; 3]> = LazyLock::new(|| {
    let cert = json!({"subject": {"CN": "payments-agent", "OU": "payments"},
        "issuer": {"CN": "Test Intermediate CA", "O": "Writ Tests"}, "serialNumber": "0a1b",
        "san": {"dns": ["agent.payments.corp"], "uri": ["spiffe://corp/payments/agent"], "email": []},
        "notBefore": 1_789_913_600, "notAfter": 1_797_776_000, "fingerprint": "00ff"});
    [
        Input::new("app_1", "fc_1").with(
            "jwt",
            json!({"header": {"alg": "RS256", "kid": "k1"}, "claims": {
                "iss": "https://kubernetes.default.svc", "sub": "system:serviceaccount:payments:billing",
                "aud": ["writ", "other"], "exp": 1_790_000_600, "iat": 1_790_000_000,
                "groups": ["a", "b", "c"], "n": 3, "f": 1.5, "ok": true, "nil": null,
                "kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "billing"}}}}),
        ),
        Input::new("app_1", "fc_1").with("cert", cert.clone()).with(
            "jwt",
            json!({"header": {"alg": "ES256"}, "claims": {"iss": "app_1", "sub": "app_1",
                "aud": "https://writ.test/token", "jti": "j", "exp": 1_790_000_600, "iat": 1_790_000_000}}),
        ),
        Input::new("app_1", "fc_1").with(
            "pkcs7",
            json!({"payload": {"jsonData": {"instanceId": "i-0abc", "accountId": "123456789012",
                "region": "us-east-1", "instance-id": "i-bp1", "owner-account-id": "1234",
                "region-id": "cn-hangzhou", "tags": ["x", "y"]}},
                "signingTime": 1_790_000_000, "cert": cert}),
        ),
    ]
});

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(src) = std::str::from_utf8(rest) else {
        return;
    };
    let (domain, input) = match selector % 6 / 2 {
        0 => (Domain::Oidc, &INPUTS[0]),
        1 => (Domain::Pca, &INPUTS[1]),
        _ => (Domain::Pkcs7, &INPUTS[2]),
    };
    let produces = if selector % 2 == 0 {
        Produces::Bool
    } else {
        Produces::String
    };
    on_worker_stack(|| {
        if let Ok(e) = Expression::compile(src, domain, produces) {
            assert_eq!(e.source(), src);
            match produces {
                Produces::Bool => {
                    let _ = e.check(input);
                }
                Produces::String => {
                    if let Ok(s) = e.map_subject(input) {
                        assert!(!s.is_empty() && s.len() <= 256);
                    }
                }
            }
        }
    });
});
