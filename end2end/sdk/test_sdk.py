"""The official SDK (cloud-idaas-core, unmodified) against a running Writ:
tokens by CLIENT_SECRET_POST and CLIENT_SECRET_BASIC, verified by PyJWT
against Writ's JWKS, and the OAuth errors the SDK surfaces."""

import base64
import json
from pathlib import Path

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


def test_sdk_agent_disabled_between_two_calls_is_refused(writ, run_sdk):
    """Issue 13: an admin cuts an agent off between two get_bearer_token
    calls; the second is refused, and the token the first one got no longer
    opens the developer API."""
    import urllib.error
    import urllib.request

    agent, secret = writ.new_agent_with_secret("sdk-cut-off")
    config = writ.sdk_config(agent["id"], "CLIENT_SECRET_POST")
    first = run_sdk(config, secret["client_secret"])
    assert "access_token" in first, first
    issuer = writ.admin("GET", "/issuer")

    def developer_api_status(token):
        req = urllib.request.Request(
            f"{writ.url}/v2/{issuer['instance_id']}/credentials/_/actions/obtain?credentialIdentifier=none",
            headers={"Authorization": f"Bearer {token}", "x-acs-action": "ObtainCredential"},
        )
        try:
            with urllib.request.urlopen(req, context=writ.ctx) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    assert developer_api_status(first["access_token"]) != 401
    writ.admin("POST", f"/agents/{agent['id']}/disable", {})
    second = run_sdk(config, secret["client_secret"])
    assert second.get("error_code") == "invalid_client", second
    assert developer_api_status(first["access_token"]) == 401


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

    # Alibaba ACK RRSA: the pod's ALIBABA_CLOUD_OIDC_TOKEN_FILE names the
    # token file; the generated config tells the SDK to read that variable.
    # The credential pins the service account's UID (Principal ID).
    uid = str(uuid.uuid4())
    writ.admin("POST", f"/m2m-applications/{app['id']}/federated-credentials", {
        "type": "oidc", "provider_id": provider["id"], "name": "ack-rrsa",
        "verification": {"mode": "kubernetes", "namespace": "payments", "service_account": "billing-bot", "principal_id": uid}})
    rrsa_file = tmp_path / "rrsa-token"
    claims = {"iss": issuer, "aud": ["writ"], "sub": "system:serviceaccount:payments:billing-bot",
              "iat": now, "nbf": now, "exp": now + 3600,
              "kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "billing-bot", "uid": uid}}}
    rrsa_file.write_text(jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid}))
    q = "authn_method=OIDC&federated_credential_name=ack-rrsa&oidc_token_file_env_var=ALIBABA_CLOUD_OIDC_TOKEN_FILE"
    config = writ.admin("GET", f"/m2m-applications/{app['id']}/sdk-config?{q}")
    assert config["authnConfiguration"]["oidcTokenFilePathEnvVarName"] == "ALIBABA_CLOUD_OIDC_TOKEN_FILE"
    assert "oidcTokenFilePath" not in config["authnConfiguration"]
    # run_sdk exports its second argument under the named variable.
    out = run_sdk(config, str(rrsa_file), secret_env="ALIBABA_CLOUD_OIDC_TOKEN_FILE")
    assert "access_token" in out, out
    # A re-created service account (same name, new UID) is refused.
    claims["kubernetes.io"]["serviceaccount"]["uid"] = str(uuid.uuid4())
    rrsa_file.write_text(jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid}))
    out = run_sdk(config, str(rrsa_file), secret_env="ALIBABA_CLOUD_OIDC_TOKEN_FILE")
    assert out.get("error_code") == "invalid_client", out


def _pca_chain(leaf_cn):
    """root → intermediate → leaf (P-256), as a company's private CA issues them."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    name = lambda cn: x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def cert(subject, issuer, key, signer, ca, path_len=None):
        b = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len), critical=True)
             .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=False, key_encipherment=False,
                                          data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                                          encipher_only=False, decipher_only=False), critical=True))
        return b.sign(signer, hashes.SHA256())

    root_key, int_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = cert("SDK Test Root", "SDK Test Root", root_key, root_key, True)
    inter = cert("SDK Test Intermediate", "SDK Test Root", int_key, root_key, True, 0)
    leaf = cert(leaf_cn, "SDK Test Intermediate", leaf_key, int_key, False)
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode()
    return pem(root), pem(inter), pem(leaf), key_pem


@pytest.mark.parametrize("collection", ["agents", "m2m-applications"])
def test_sdk_pca(writ, run_sdk, collection):
    """PCA mode: certificate and chain inline in client-config.json, the
    leaf's key from IDAAS_PRIVATE_KEY."""
    import urllib.parse
    import uuid

    suffix = uuid.uuid4().hex[:8]
    root, inter, leaf, key = _pca_chain("payments-agent")
    provider = writ.admin("POST", "/federated-credential-providers", {
        "type": "pca", "name": f"corp-pca-{suffix}", "root_certificate": root, "intermediate_certificates": [inter]})
    client = writ.admin("POST", f"/{collection}", {"name": f"pca-{suffix}", "owner": "sdk-tests"})
    writ.admin("POST", f"/{collection}/{client['id']}/federated-credentials", {
        "type": "pca", "provider_id": provider["id"], "name": "pca-cert",
        "verification": {"mode": "certificate", "cn": "payments-agent"}})
    q = "authn_method=PCA&federated_credential_name=pca-cert&client_x509_certificate=" + urllib.parse.quote(leaf)
    config = writ.admin("GET", f"/{collection}/{client['id']}/sdk-config?{q}")
    authn = config["authnConfiguration"]
    assert authn["authnMethod"] == "PCA"
    assert authn["clientX509Certificate"] == leaf.strip()
    assert "BEGIN CERTIFICATE" in authn["x509CertChains"]
    out = run_sdk(config, key, secret_env=authn["privateKeyEnvVarName"])
    assert "access_token" in out, out
    assert verify(writ, out["access_token"], "urn:cloud:idaas:pam")["sub"] == client["client_id"]

    # A certificate from the same CA with another CN is refused.
    _, _, _, other_key = _pca_chain("intruder")
    out = run_sdk(config, other_key, secret_env=authn["privateKeyEnvVarName"])
    assert out.get("error_code") == "invalid_client", out


def test_sdk_pkcs7_token_utility(writ, tmp_path):
    """PKCS#7 (Alibaba ECS shape): a document signed by a test cloud
    certificate (openssl cms), posted by the SDK's own token utility."""
    import os
    import subprocess
    import sys
    import time
    import uuid

    suffix = uuid.uuid4().hex[:8]
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-subj",
                    "/CN=ecs.test", "-days", "30", "-out", "cert.pem"], cwd=tmp_path, check=True, capture_output=True)
    instance = writ.admin("GET", "/issuer")["instance_id"]
    provider = writ.admin("POST", "/federated-credential-providers", {
        "type": "pkcs7", "name": f"ecs-{suffix}", "trust_source": "alibaba_cloud_ecs",
        "verification_certificate": (tmp_path / "cert.pem").read_text(), "account_id": "1234567"})
    app = writ.admin("POST", "/m2m-applications", {"name": f"ecs-{suffix}"})
    writ.admin("POST", f"/m2m-applications/{app['id']}/federated-credentials", {
        "type": "pkcs7", "provider_id": provider["id"], "name": "ecs-instance",
        "verification": {"mode": "cloud_server", "instance_id": "i-bp1sdk"}})
    config = writ.admin("GET", f"/m2m-applications/{app['id']}/sdk-config?authn_method=PKCS7&federated_credential_name=ecs-instance")
    assert config["authnConfiguration"]["clientDeployEnvironment"] == "ALIBABA_CLOUD_ECS"

    def document(instance_id):
        # The audience the SDK asks the metadata service for, with Python's spacing.
        audience = json.dumps({"aud": instance, "signingTime": int(time.time())})
        (tmp_path / "doc.json").write_text(json.dumps({"instance-id": instance_id, "owner-account-id": "1234567",
                                                       "region-id": "cn-hangzhou", "audience": audience}))
        der = subprocess.run(["openssl", "cms", "-sign", "-nodetach", "-binary", "-md", "sha256", "-outform", "DER",
                              "-signer", "cert.pem", "-inkey", "key.pem", "-in", "doc.json"],
                             cwd=tmp_path, check=True, capture_output=True).stdout
        return base64.b64encode(der).decode()

    def post(doc):
        env = dict(os.environ, SSL_CERT_FILE=writ.ca, WRIT_CLIENT_ID=app["client_id"],
                   WRIT_CREDENTIAL_NAME="ecs-instance", WRIT_TOKEN_ENDPOINT=config["tokenEndpoint"], HOME=str(tmp_path))
        p = subprocess.run([sys.executable, str(Path(__file__).parent / "sdk_pkcs7_token.py")], input=doc, env=env,
                           capture_output=True, text=True, timeout=60)
        return json.loads([l for l in p.stdout.splitlines() if l.startswith("{")][-1])

    out = post(document("i-bp1sdk"))
    assert "access_token" in out, out
    assert verify(writ, out["access_token"], "urn:cloud:idaas:pam")["sub"] == app["client_id"]
    out = post(document("i-bp1other"))
    assert out.get("error_code") == "invalid_client", out


def test_sdk_client_secret_jwt(writ, run_sdk):
    """CLIENT_SECRET_JWT: an HMAC assertion keyed with the secret. Works for
    a secret created with client_secret_jwt allowed; a hash-only secret gets
    a clear invalid_client."""
    agent = writ.admin("POST", "/agents", {"name": "sdk-hmac", "owner": "sdk-tests"})
    sealed = writ.admin("POST", f"/agents/{agent['id']}/client-secrets", {"allow_client_secret_jwt": True})
    config = writ.sdk_config(agent["id"], "CLIENT_SECRET_JWT")
    assert config["authnConfiguration"]["authnMethod"] == "CLIENT_SECRET_JWT"
    out = run_sdk(config, sealed["client_secret"])
    assert "access_token" in out, out
    assert verify(writ, out["access_token"], "urn:cloud:idaas:pam")["sub"] == agent["client_id"]

    other = writ.admin("POST", "/agents", {"name": "sdk-hmac-off", "owner": "sdk-tests"})
    plain = writ.admin("POST", f"/agents/{other['id']}/client-secrets", {})
    out = run_sdk(writ.sdk_config(other["id"], "CLIENT_SECRET_JWT"), plain["client_secret"])
    assert out.get("error_code") == "invalid_client", out
