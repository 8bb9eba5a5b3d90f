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
