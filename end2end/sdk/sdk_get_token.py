"""Runs the unmodified official SDK (cloud-idaas-core) once and prints the
outcome as JSON: {"access_token": ...} or {"error_code": ..., "error_message": ...}.

The SDK's factory is a process-wide singleton, so each scenario runs in its
own process. Configuration comes the way users give it: CLOUD_IDAAS_CONFIG_PATH,
the secret's environment variable, SSL_CERT_FILE for Writ's CA.
"""

import json
import sys

from cloud_idaas.core import IDaaSCredentialProviderFactory


def find_code(exc):
    """The first error_code in the exception's cause chain (the SDK wraps)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        code = getattr(exc, "error_code", None)
        if code and code not in ("IDaaSCredentialProviderFactoryNotInit",):
            msg = getattr(exc, "error_message", None) or str(exc)
            if code not in ("CacheRefreshError",):
                return code, msg
        exc = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__
    return None, None


def main():
    try:
        IDaaSCredentialProviderFactory.init()
        provider = IDaaSCredentialProviderFactory.get_idaas_credential_provider()
        token = provider.get_bearer_token()
        print(json.dumps({"access_token": token}))
        return 0
    except Exception as e:  # noqa: BLE001 - we report whatever the SDK raised
        code, msg = find_code(e)
        print(json.dumps({"error_code": code, "error_message": msg, "exception": type(e).__name__, "text": str(e)}))
        return 1


if __name__ == "__main__":
    sys.exit(main())
