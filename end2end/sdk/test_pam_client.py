"""The unmodified official PAM client (cloud-idaas-pam-client) against a
running Writ: an agent configured from Writ's generated client-config.json
obtains an API key from the vault; without a grant, for a disabled or
unknown credential it gets a clear error and nothing else."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).parent


def run_pam(writ, tmp_path, config, secret, identifier):
    path = tmp_path / "client-config.json"
    path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUD_IDAAS")}
    env.update({"CLOUD_IDAAS_CONFIG_PATH": str(path), "SSL_CERT_FILE": writ.ca,
                "IDAAS_CLIENT_SECRET": secret, "HOME": str(tmp_path)})
    p = subprocess.run([sys.executable, str(HERE / "pam_get_api_key.py"), identifier], env=env,
                       capture_output=True, text=True, timeout=60)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    assert lines, f"PAM client printed nothing useful: {p.stdout}\n{p.stderr}"
    return json.loads(lines[-1])


def test_pam_client_gets_an_api_key_only_with_a_grant(writ, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    api_key = f"sk-live-{uuid.uuid4().hex}"
    cred = writ.admin("POST", "/credentials", {
        "name": f"OpenAI {suffix}", "description": "LLM key for the billing agent", "business_type": "llm",
        "identifier": f"openai-{suffix}", "api_key": api_key})
    assert "api_key" not in cred and api_key not in json.dumps(cred)
    agent, secret = writ.new_agent_with_secret(f"pam-{suffix}")
    config = writ.sdk_config(agent["id"], "CLIENT_SECRET_POST")
    ident = cred["identifier"]

    # No grant yet: a clear 403, no key.
    out = run_pam(writ, tmp_path, config, secret["client_secret"], ident)
    assert out.get("error_code") == "access_denied", out
    assert api_key not in json.dumps(out)

    writ.admin("POST", f"/credentials/{cred['id']}/grants", {"client_id": agent["client_id"]})
    out = run_pam(writ, tmp_path, config, secret["client_secret"], ident)
    assert out == {"api_key": api_key}, out

    # Unknown identifier, then a disabled credential.
    out = run_pam(writ, tmp_path, config, secret["client_secret"], f"nope-{suffix}")
    assert out.get("error_code") == "not_found", out
    writ.admin("POST", f"/credentials/{cred['id']}/disable", {})
    out = run_pam(writ, tmp_path, config, secret["client_secret"], ident)
    assert out.get("error_code") == "access_denied", out
    assert api_key not in json.dumps(out)

    # Every obtain is audited.
    events = writ.admin("GET", f"/agents/{agent['id']}/audit")
    obtains = [e for e in events if e["method"] == "obtain_credential"]
    assert [e["outcome"] for e in obtains].count("issued") == 1, obtains
    assert len(obtains) >= 4, obtains


def test_pam_client_jwt_provider_lifecycle(writ, tmp_path):
    """Generate (with a derived short token), obtain by id and by short token,
    list, revoke / reinstate (one token and by consumer), validate; the JWT
    verifies against Writ's JWKS with PyJWT; an issuer off the whitelist and
    a short token from a provider whose switch is off are refused."""
    import jwt

    suffix = uuid.uuid4().hex[:8]
    p = writ.admin("POST", "/credential-providers", {
        "type": "jwt", "name": f"Partner JWT {suffix}", "identifier": f"partner-{suffix}",
        "generate_short_token": True, "expiration_seconds": 3600, "issuer_whitelist": ["https://partner.example"]})
    plain = writ.admin("POST", "/credential-providers", {
        "type": "jwt", "name": f"No short {suffix}", "identifier": f"noshort-{suffix}", "algorithm": "EdDSA"})
    agent, secret = writ.new_agent_with_secret(f"jwt-{suffix}")
    for prov in (p, plain):
        writ.admin("POST", f"/credential-providers/{prov['id']}/grants", {"client_id": agent["client_id"]})
    config = writ.sdk_config(agent["id"], "CLIENT_SECRET_POST")
    path = tmp_path / "client-config.json"
    path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUD_IDAAS")}
    env.update({"CLOUD_IDAAS_CONFIG_PATH": str(path), "SSL_CERT_FILE": writ.ca,
                "IDAAS_CLIENT_SECRET": secret["client_secret"], "HOME": str(tmp_path)})
    r = subprocess.run([sys.executable, str(HERE / "pam_jwt_flow.py"), p["identifier"], plain["identifier"]],
                       env=env, capture_output=True, text=True, timeout=120)
    out = json.loads([l for l in r.stdout.splitlines() if l.startswith("{")][-1])
    assert "failed" not in out, out.get("failed", out).__repr__() + out.get("trace", "")

    g = out["generated"]
    assert g["consumer_type"] == "application" and g["consumer_id"] == agent["client_id"]
    assert g["short"].startswith("wst_")
    assert out["obtained"] == g["jwt"] and out["by_short"] == g["jwt"]
    assert g["id"] in out["listed"] and out["listed_revoked"] == []
    assert (out["valid_before"], out["valid_revoked"], out["valid_reinstated"], out["valid_after_consumer_revoke"]) == (True, False, True, False)
    assert out["off_whitelist"]["error_code"] == "invalid_request", out["off_whitelist"]
    assert "whitelist" in out["off_whitelist"]["text"]
    assert out["short_when_off"]["error_code"] == "invalid_request", out["short_when_off"]

    # An independent library verifies the JWT against the provider's own JWKS
    # (Writ's access-token JWKS does not carry provider keys).
    jwks = jwt.PyJWKClient(p["jwks_uri"], ssl_context=writ.ctx)
    for token, iss in ((g["jwt"], p["default_issuer"]), (out["whitelisted"], "https://partner.example")):
        key = jwks.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["ES256"], audience="https://api.partner.example", issuer=iss)
        assert claims["sub"] in ("billing-bot", "bot")
    claims = jwt.decode(g["jwt"], jwks.get_signing_key_from_jwt(g["jwt"]).key, algorithms=["ES256"], audience="https://api.partner.example")
    assert claims["tenant"] == "acme" and claims["exp"] - claims["iat"] == 900
