"""OAuth credential providers end to end: the unmodified PAM client fetches a
third party's token through Writ in both flows. The third party is a real
OAuth server (`oidc-provider` from npm) on loopback; in the user-delegated
flow a person consents in headless Chromium while the client polls. Tokens
are checked at the third party itself (token introspection)."""

import base64
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).parent
END2END = HERE.parent
SHOTS = END2END / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def third_party(writ):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.Popen(["node", str(END2END / "oauth" / "third_party.mjs"), str(port), f"{writ.url}/oauth/callback"],
                            cwd=END2END, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("{"), f"the OAuth server did not start: {line}{proc.stderr.read()}"
    yield json.loads(line)
    proc.terminate()
    proc.wait(timeout=10)


def introspect(tp, token, client_id, secret):
    """Asks the third party whether it issued this token (RFC 7662)."""
    req = urllib.request.Request(
        tp["issuer"] + "/token/introspection",
        data=urllib.parse.urlencode({"token": token}).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode(),
                 "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def pam(writ, tmp_path, config, secret, *args):
    path = tmp_path / "client-config.json"
    path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUD_IDAAS")}
    env.update({"CLOUD_IDAAS_CONFIG_PATH": str(path), "SSL_CERT_FILE": writ.ca,
                "IDAAS_CLIENT_SECRET": secret, "HOME": str(tmp_path)})
    p = subprocess.run([sys.executable, str(HERE / "pam_oauth_flow.py"), *args], env=env, cwd=END2END,
                       capture_output=True, text=True, timeout=200)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    assert lines, f"PAM client printed nothing useful: {p.stdout}\n{p.stderr}"
    return json.loads(lines[-1])


def stored_bytes():
    """Every byte Writ keeps on disk (SQLite file, WAL, keys)."""
    data = Path(os.environ["WRIT_E2E_DATA"])
    return b"".join(f.read_bytes() for f in data.rglob("*") if f.is_file())


def test_machine_flow_fetches_and_caches_a_client_credentials_token(writ, third_party, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    p = writ.admin("POST", "/credential-providers", {
        "type": "oauth", "name": f"Calendar M2M {suffix}", "identifier": f"calendar-m2m-{suffix}",
        "client_id": "writ-machine", "client_secret": "third-party-secret-m2m",
        "token_endpoint": third_party["token_endpoint"], "client_auth_method": "post",
        "scopes": ["calendar.read"], "allow_insecure_local_endpoints": True})
    assert p["authorization_flow"] == "m2m" and "client_secret" not in p
    agent, secret = writ.new_agent_with_secret(f"oauth-m2m-{suffix}")
    config = writ.sdk_config(agent["id"], "CLIENT_SECRET_POST")
    ident = p["identifier"]

    out = pam(writ, tmp_path, config, secret["client_secret"], "fetch", ident, "m2m")
    assert out.get("error_code") == "access_denied", out  # no grant yet

    writ.admin("POST", f"/credential-providers/{p['id']}/grants", {"client_id": agent["client_id"]})
    first = pam(writ, tmp_path, config, secret["client_secret"], "fetch", ident, "m2m")
    assert first["session"] is None and first["token"]["type"] == "Bearer", first
    assert first["token"]["scope"] == "calendar.read"
    token = first["token"]["value"]
    info = introspect(third_party, token, "writ-machine", "third-party-secret-m2m")
    assert info["active"] is True and info["client_id"] == "writ-machine", info

    # Cached until shortly before it expires: the same token again.
    again = pam(writ, tmp_path, config, secret["client_secret"], "fetch", ident, "m2m")
    assert again["token"]["value"] == token

    # Nothing the third party gave, nor the client secret, is on disk in plaintext.
    disk = stored_bytes()
    assert token.encode() not in disk and b"third-party-secret-m2m" not in disk

    # A disabled provider serves nothing, cached or not.
    writ.admin("POST", f"/credential-providers/{p['id']}/disable", {})
    out = pam(writ, tmp_path, config, secret["client_secret"], "fetch", ident, "m2m")
    assert out.get("error_code") == "access_denied" and token not in json.dumps(out), out


def test_user_delegated_flow_consent_in_chromium_then_cache_and_refresh(writ, third_party, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    SHOTS.mkdir(parents=True, exist_ok=True)
    p = writ.admin("POST", "/credential-providers", {
        "type": "oauth", "name": f"Calendar {suffix}", "identifier": f"calendar-{suffix}",
        "client_id": "writ-user-delegated", "client_secret": "third-party-secret-3lo",
        "authorization_endpoint": third_party["authorization_endpoint"],
        "token_endpoint": third_party["token_endpoint"], "client_auth_method": "basic",
        "scopes": ["openid", "offline_access", "calendar.read"], "allow_insecure_local_endpoints": True})
    assert p["authorization_flow"] == "user_federation"
    assert p["callback_url"] == f"{writ.url}/oauth/callback"
    agent, secret = writ.new_agent_with_secret(f"oauth-3lo-{suffix}")
    writ.admin("POST", f"/credential-providers/{p['id']}/grants", {"client_id": agent["client_id"]})
    config = writ.sdk_config(agent["id"], "CLIENT_SECRET_POST")
    ident = p["identifier"]

    # The machine mode refuses a provider that needs a person.
    out = pam(writ, tmp_path, config, secret["client_secret"], "fetch", ident, "m2m")
    assert "exception" in out and "m2m" in out["text"], out

    out = pam(writ, tmp_path, config, secret["client_secret"], "poll", ident,
              str(END2END / "oauth" / "consent.mjs"), str(SHOTS / "oauth-consent"))
    assert "exception" not in out, out
    assert json.loads(out["browser"])["done"] is True, out["browser"]
    q = urllib.parse.parse_qs(urllib.parse.urlparse(out["authorization_url"]).query)
    assert q["code_challenge_method"] == ["S256"] and q["redirect_uri"] == [p["callback_url"]]
    assert q["scope"] == ["openid offline_access calendar.read"] and q["prompt"] == ["consent"]
    token = out["token"]["value"]
    info = introspect(third_party, token, "writ-user-delegated", "third-party-secret-3lo")
    assert info["active"] is True and info["sub"] == "alice", info

    # Stored for this consumer: no second consent.
    again = pam(writ, tmp_path, config, secret["client_secret"], "fetch", ident, "user_federation")
    assert again["session"] is None and again["token"]["value"] == token, again

    # The third party's access tokens live 80 s and Writ hands one out only
    # while 60 s are left: once fewer are left (the third party's own `exp`
    # says when), Writ refreshes it with the refresh token.
    time.sleep(max(0.0, info["exp"] - 60 + 2 - time.time()))
    refreshed = pam(writ, tmp_path, config, secret["client_secret"], "fetch", ident, "user_federation")
    assert refreshed["session"] is None, refreshed
    assert refreshed["token"]["value"] != token
    assert introspect(third_party, refreshed["token"]["value"], "writ-user-delegated", "third-party-secret-3lo")["active"]

    disk = stored_bytes()
    for plain in (token, refreshed["token"]["value"], "third-party-secret-3lo"):
        assert plain.encode() not in disk, "a third-party secret is on disk in plaintext"

    # Another agent with the grant but no consent of its own gets a session, not alice's token.
    other, other_secret = writ.new_agent_with_secret(f"oauth-3lo-other-{suffix}")
    writ.admin("POST", f"/credential-providers/{p['id']}/grants", {"client_id": other["client_id"]})
    out = pam(writ, tmp_path, writ.sdk_config(other["id"], "CLIENT_SECRET_POST"), other_secret["client_secret"],
              "fetch", ident, "user_federation")
    assert out["token"] is None and out["session"]["status"] == "pending", out
    assert out["session"]["uri"].startswith("urn:ietf:params:oauth:request_uri:")
