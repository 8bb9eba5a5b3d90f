"""Writes N token-request bodies, each with a fresh jti, signed ES256 like
the SDK signs them (header alg+typ, no kid): private_key_jwt, or with
`--pca <credential name> <leaf.pem> <chain.pem>` the SDK's PCA request."""
import sys, time, uuid
from urllib.parse import urlencode
import jwt

key_path, client_id, aud, n, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
extra = {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
if len(sys.argv) > 6 and sys.argv[6] == "--pca":
    extra = {"client_assertion_type": "urn:cloud:idaas:params:oauth:client-assertion-type:x509-jwt-bearer",
             "application_federated_credential_name": sys.argv[7],
             "client_x509": open(sys.argv[8]).read(), "client_x509_chain": open(sys.argv[9]).read()}
key = open(key_path).read()
now = int(time.time())
with open(out, "w") as f:
    for _ in range(n):
        a = jwt.encode({"iss": client_id, "sub": client_id, "aud": aud, "jti": str(uuid.uuid4()), "iat": now, "exp": now + 600},
                       key, algorithm="ES256", headers={"typ": "JWT"})
        f.write(urlencode({"grant_type": "client_credentials", "client_id": client_id, **extra,
                           "client_assertion": a, "scope": "urn:cloud:idaas:pam|.all"}) + "\n")
