"""The official SDK (cloud-idaas-core, unmodified) against a running Writ:
tokens by CLIENT_SECRET_POST and CLIENT_SECRET_BASIC, verified by PyJWT
against Writ's JWKS, and the OAuth errors the SDK surfaces."""

import jwt
import pytest


def verify(writ, token, audience):
    jwks = jwt.PyJWKClient(f"{writ.url}/api/v2/iauths_system/oauth2/jwks", ssl_context=writ.ctx)
    key = jwks.get_signing_key_from_jwt(token)
    return jwt.decode(
        token,
        key.key,
        algorithms=["ES256"],
        audience=audience,
        issuer=f"{writ.url}/api/v2/iauths_system/oauth2",
        options={"require": ["exp", "iat", "iss", "sub", "aud", "jti"]},
    )


@pytest.mark.parametrize("method", ["CLIENT_SECRET_POST", "CLIENT_SECRET_BASIC"])
def test_sdk_gets_a_token_that_verifies_against_jwks(writ, run_sdk, method):
    agent, secret = writ.new_agent_with_secret(f"sdk-{method.lower()}")
    config = writ.sdk_config(agent["id"], method)
    out = run_sdk(config, secret["client_secret"])
    assert "access_token" in out, out
    claims = verify(writ, out["access_token"], "urn:cloud:idaas:pam")
    assert claims["sub"] == agent["client_id"]
    assert claims["client_id"] == agent["client_id"]
    assert claims["agent_id"] == agent["agent_id"]
    assert "urn:cloud:idaas:pam|cloud_account:obtain_access_credential" in claims["scope"].split()
    # The audit log saw it, with the method the SDK used.
    events = writ.admin("GET", f"/agents/{agent['id']}/audit")
    assert any(e["outcome"] == "issued" and e["method"] == method.lower() for e in events), events


def test_sdk_wrong_secret_is_invalid_client(writ, run_sdk):
    agent, _ = writ.new_agent_with_secret("sdk-wrong-secret")
    out = run_sdk(writ.sdk_config(agent["id"], "CLIENT_SECRET_POST"), "writcs_not_the_secret")
    assert out.get("error_code") == "invalid_client", out


def test_sdk_disabled_secret_is_invalid_client(writ, run_sdk):
    agent, secret = writ.new_agent_with_secret("sdk-disabled")
    writ.admin("POST", f"/agents/{agent['id']}/client-secrets/{secret['id']}/disable", {})
    out = run_sdk(writ.sdk_config(agent["id"], "CLIENT_SECRET_BASIC"), secret["client_secret"])
    assert out.get("error_code") == "invalid_client", out


def test_sdk_ungranted_scope_is_invalid_scope(writ, run_sdk):
    agent, secret = writ.new_agent_with_secret("sdk-ungranted")
    audience = f"https://sdk-ungranted-{agent['id'][:8]}.example"
    writ.admin("POST", "/resource-servers", {"name": "Ungranted", "audience": audience, "permissions": ["read"]})
    out = run_sdk(writ.sdk_config(agent["id"], "CLIENT_SECRET_POST", scope=f"{audience}|read"), secret["client_secret"])
    assert out.get("error_code") == "invalid_scope", out


def _key_pair(kind):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if kind.startswith("RSA-"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(kind[4:]))
    else:
        curve = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}[kind]
        key = ec.generate_private_key(curve)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private_pem, public_pem


# The SDK picks RS256/RS384 by RSA size and ES256/384/512 by curve, with no kid.
@pytest.mark.parametrize("kind", ["RSA-2048", "RSA-3072", "P-256", "P-384", "P-521"])
def test_sdk_private_key_jwt(writ, run_sdk, kind):
    agent = writ.admin("POST", "/agents", {"name": f"sdk-pkjwt-{kind}", "owner": "sdk-tests"})
    private_pem, public_pem = _key_pair(kind)
    key = writ.admin("POST", f"/agents/{agent['id']}/public-keys", {"pem": public_pem})
    assert key["key_type"] in (kind, f"EC {kind}")
    config = writ.sdk_config(agent["id"], "PRIVATE_KEY_JWT")
    assert config["authnConfiguration"]["privateKeyEnvVarName"] == "IDAAS_PRIVATE_KEY"
    out = run_sdk(config, private_pem, secret_env="IDAAS_PRIVATE_KEY")
    assert "access_token" in out, out
    claims = verify(writ, out["access_token"], "urn:cloud:idaas:pam")
    assert claims["sub"] == agent["client_id"]


def test_sdk_private_key_jwt_with_unregistered_key_is_invalid_client(writ, run_sdk):
    agent = writ.admin("POST", "/agents", {"name": "sdk-pkjwt-wrong", "owner": "sdk-tests"})
    _, registered = _key_pair("P-256")
    writ.admin("POST", f"/agents/{agent['id']}/public-keys", {"pem": registered})
    other_private, _ = _key_pair("P-256")
    out = run_sdk(writ.sdk_config(agent["id"], "PRIVATE_KEY_JWT"), other_private, secret_env="IDAAS_PRIVATE_KEY")
    assert out.get("error_code") == "invalid_client", out


def test_sdk_oidc_kubernetes_token_file(writ, run_sdk, tmp_path):
    """KUBERNETES mode: the SDK reads a service-account token from
    oidcTokenFilePath and sends it (trailing newline and all)."""
    import base64
    import time
    import uuid

    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    nums = key.public_key().public_numbers()
    b64 = lambda i: base64.urlsafe_b64encode(i.to_bytes((i.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
    kid = uuid.uuid4().hex
    jwks = {"keys": [{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64(nums.n), "e": b64(nums.e)}]}
    issuer = f"https://oidc.{kid[:8]}.cluster.example"
    suffix = kid[:8]
    provider = writ.admin("POST", "/federated-credential-providers",
                          {"type": "oidc", "name": f"cluster-{suffix}", "issuer": issuer, "audience": "writ", "jwks": jwks})
    app = writ.admin("POST", "/m2m-applications", {"name": f"k8s-app-{suffix}"})
    writ.admin("POST", f"/m2m-applications/{app['id']}/federated-credentials", {
        "type": "oidc", "provider_id": provider["id"], "name": "k8s-sa",
        "verification": {"mode": "kubernetes", "namespace": "payments", "service_account": "billing-bot"}})

    now = int(time.time())
    sa_token = jwt.encode({"iss": issuer, "aud": ["writ"], "sub": "system:serviceaccount:payments:billing-bot",
                           "iat": now, "nbf": now, "exp": now + 3600,
                           "kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "billing-bot"}}},
                          key, algorithm="RS256", headers={"kid": kid})
    token_file = tmp_path / "sa-token"
    token_file.write_text(sa_token + "\n")
    q = f"authn_method=OIDC&federated_credential_name=k8s-sa&oidc_token_file_path={token_file}"
    config = writ.admin("GET", f"/m2m-applications/{app['id']}/sdk-config?{q}")
    out = run_sdk(config, "unused")
    assert "access_token" in out, out
    claims = verify(writ, out["access_token"], "urn:cloud:idaas:pam")
    assert claims["sub"] == app["client_id"]

    # A token for another service account is refused.
    token_file.write_text(jwt.encode({"iss": issuer, "aud": "writ", "sub": "system:serviceaccount:payments:intruder", "exp": now + 3600},
                                     key, algorithm="RS256", headers={"kid": kid}) + "\n")
    out = run_sdk(config, "unused")
    assert out.get("error_code") == "invalid_client", out
