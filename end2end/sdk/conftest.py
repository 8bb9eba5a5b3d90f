"""Fixtures for the SDK tests: the Writ that end2end/run.sh started, reached
through its admin API, and a runner for the official SDK."""

import json
import os
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).parent


class Writ:
    def __init__(self):
        self.url = os.environ["WRIT_E2E_URL"]
        self.ca = os.environ["WRIT_E2E_CA"]
        self.admin_token = os.environ["WRIT_E2E_ADMIN_TOKEN"]
        self.ctx = ssl.create_default_context(cafile=self.ca)

    def admin(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}/api/admin/v1{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.admin_token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, context=self.ctx) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    def new_agent_with_secret(self, name):
        agent = self.admin("POST", "/agents", {"name": name, "owner": "sdk-tests"})
        secret = self.admin("POST", f"/agents/{agent['id']}/client-secrets", {})
        return agent, secret

    def sdk_config(self, agent_id, method, scope=None):
        q = f"authn_method={method}"
        if scope:
            q += "&scope=" + urllib.parse.quote(scope)
        return self.admin("GET", f"/agents/{agent_id}/sdk-config?{q}")


@pytest.fixture(scope="session")
def writ():
    return Writ()


@pytest.fixture
def run_sdk(tmp_path, writ):
    """Writes the config and runs the SDK in a fresh process."""

    def run(config, secret, secret_env="IDAAS_CLIENT_SECRET"):
        path = tmp_path / "client-config.json"
        path.write_text(json.dumps(config))
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUD_IDAAS")}
        env.update({"CLOUD_IDAAS_CONFIG_PATH": str(path), "SSL_CERT_FILE": writ.ca, secret_env: secret, "HOME": str(tmp_path)})
        p = subprocess.run([sys.executable, str(HERE / "sdk_get_token.py")], env=env, capture_output=True, text=True, timeout=60)
        lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
        assert lines, f"SDK printed nothing useful: {p.stdout}\n{p.stderr}"
        return json.loads(lines[-1])

    return run
