"""Makes a test OIDC issuer for the load test: writes its JWKS (JSON) and a
Kubernetes-shaped service-account token (RS256, 1 h) to the given files."""
import base64, json, sys, time
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

jwks_out, token_out, issuer = sys.argv[1], sys.argv[2], sys.argv[3]
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
n = key.public_key().public_numbers()
b64 = lambda i: base64.urlsafe_b64encode(i.to_bytes((i.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
json.dump({"keys": [{"kty": "RSA", "kid": "bench", "alg": "RS256", "use": "sig", "n": b64(n.n), "e": b64(n.e)}]}, open(jwks_out, "w"))
now = int(time.time())
tok = jwt.encode({"iss": issuer, "aud": ["writ"], "sub": "system:serviceaccount:bench:runner", "iat": now, "exp": now + 3600},
                 key, algorithm="RS256", headers={"kid": "bench"})
open(token_out, "w").write(tok)
