"""Runs the unmodified official PAM client's OAuth calls once and prints one
JSON line. Modes:
  fetch <identifier> <m2m|user_federation>   one FetchOAuthAuthenticationToken
  poll <identifier> <consent script> <prefix> the 3LO helper: the authorization
      URL is handed to a headless-Chromium "person" who consents while the
      client polls GetOAuthAuthorizationSession."""

import json
import subprocess
import sys
import traceback

from cloud_idaas.core import IDaaSCredentialProviderFactory
from cloud_idaas.pam_client import IDaaSPamClient


def token_of(r):
    out = {"token": None, "session": None}
    if r is not None and r.has_oauth_access_token_content():
        c = r.oauth_access_token_content
        out["token"] = {"value": c.access_token_value, "type": c.token_type, "scope": c.scope}
    if r is not None and r.has_oauth_authorization_session():
        s = r.oauth_authorization_session
        out["session"] = {"uri": s.session_uri, "url": s.authorization_url, "status": s.session_status}
    return out


def main():
    mode, ident = sys.argv[1], sys.argv[2]
    try:
        IDaaSCredentialProviderFactory.init()
        client = IDaaSPamClient()
        if mode == "fetch":
            print(json.dumps(token_of(client.fetch_oauth_authentication_token_v2(ident, sys.argv[3]))))
        else:
            consent, prefix = sys.argv[3], sys.argv[4]
            seen = {}

            def on_authorization_url(url):
                seen["url"] = url
                # The person consents in a browser while this thread polls.
                seen["proc"] = subprocess.Popen(["node", consent, url, prefix], stdout=subprocess.PIPE, text=True)

            # prompt=consent: the third party issues a refresh token for offline_access only then.
            r = client.poll_oauth_authentication_token(ident, on_authorization_url,
                                                       custom_parameters={"prompt": "consent"})
            browser = seen["proc"].communicate(timeout=60)[0] if "proc" in seen else ""
            print(json.dumps({**token_of(r), "authorization_url": seen.get("url"), "browser": browser.strip()}))
        return 0
    except Exception as e:  # noqa: BLE001 - report what the client raised
        print(json.dumps({"error_code": getattr(e, "error_code", None), "exception": type(e).__name__,
                          "text": str(e), "trace": traceback.format_exc()}))
        return 1


if __name__ == "__main__":
    sys.exit(main())
