"""Posts a PKCS#7 instance identity document with the SDK's own token
utility (the SDK fetches documents only on a real ECS instance, from a
hard-coded metadata address) and prints the outcome as JSON."""

import json
import os
import sys

from cloud_idaas.core.http.oauth2_token_util import OAuth2TokenUtil


def main():
    try:
        r = OAuth2TokenUtil.get_token_with_pkcs7_attested_document(
            client_id=os.environ["WRIT_CLIENT_ID"],
            application_federated_credential_name=os.environ["WRIT_CREDENTIAL_NAME"],
            pkcs7_attested_document=sys.stdin.read(),
            token_endpoint=os.environ["WRIT_TOKEN_ENDPOINT"],
            scope="urn:cloud:idaas:pam|.all",
        )
        print(json.dumps({"access_token": r.access_token, "expires_at": r.expires_at}))
        return 0
    except Exception as e:  # noqa: BLE001 - report what the SDK raised
        print(json.dumps({"error_code": getattr(e, "error_code", None), "text": str(e)}))
        return 1


if __name__ == "__main__":
    sys.exit(main())
