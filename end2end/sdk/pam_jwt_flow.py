"""Drives the unmodified PAM client through a JWT credential provider and
prints what each call returned, as JSON (the test asserts on it)."""

import json
import sys
import traceback

from cloud_idaas.core import IDaaSCredentialProviderFactory
from cloud_idaas.pam_client import IDaaSPamClient


def err(e):
    return {"error_code": getattr(e, "error_code", None), "exception": type(e).__name__, "text": str(e)}


def main():
    provider, no_short_provider = sys.argv[1], sys.argv[2]
    out = {}
    try:
        IDaaSCredentialProviderFactory.init()
        c = IDaaSPamClient()
        g = c.generate_jwt_authentication_token(provider, "billing-bot", ["https://api.partner.example"],
                                                custom_claims={"tenant": "acme"}, expiration=900,
                                                include_derived_short_token=True)
        out["generated"] = {"id": g.authentication_token_id, "consumer_type": g.consumer_type, "consumer_id": g.consumer_id,
                            "jwt": g.jwt_content.jwt_value, "short": g.jwt_content.derived_short_token}
        out["obtained"] = c.obtain_jwt_authentication_token(g.consumer_id, g.authentication_token_id).jwt_value
        out["by_short"] = c.obtain_jwt_authentication_token_by_derived_short_token(g.jwt_content.derived_short_token).jwt_value
        page = c.list_authentication_tokens(g.consumer_id, provider, max_results=10)
        out["listed"] = [e.authentication_token_id for e in page.entities]
        out["listed_revoked"] = [e.authentication_token_id for e in c.list_authentication_tokens(g.consumer_id, provider, revoked=True).entities]
        out["valid_before"] = c.validate_authentication_token(g.jwt_content.jwt_value)
        c.revoke_authentication_token(g.jwt_content.derived_short_token)
        out["valid_revoked"] = c.validate_authentication_token(g.jwt_content.jwt_value)
        c.reinstate_authentication_token(g.jwt_content.jwt_value)
        out["valid_reinstated"] = c.validate_authentication_token(g.jwt_content.derived_short_token)
        c.revoke_authentication_token_by_consumer(g.consumer_id, provider)
        out["valid_after_consumer_revoke"] = c.validate_authentication_token(g.jwt_content.jwt_value)
        c.reinstate_authentication_token_by_consumer(g.consumer_id, provider)
        try:
            c.generate_jwt_authentication_token(provider, "bot", ["https://api.partner.example"], issuer="https://evil.example")
            out["off_whitelist"] = "accepted"
        except Exception as e:  # noqa: BLE001
            out["off_whitelist"] = err(e)
        out["whitelisted"] = c.generate_jwt_authentication_token(provider, "bot", ["https://api.partner.example"],
                                                                 issuer="https://partner.example").jwt_content.jwt_value
        try:
            c.generate_jwt_authentication_token(no_short_provider, "bot", ["https://x.example"], include_derived_short_token=True)
            out["short_when_off"] = "accepted"
        except Exception as e:  # noqa: BLE001
            out["short_when_off"] = err(e)
    except Exception as e:  # noqa: BLE001
        out["failed"] = err(e)
        out["trace"] = traceback.format_exc()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
