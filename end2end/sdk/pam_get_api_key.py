"""Runs the unmodified official PAM client (cloud-idaas-pam-client) once:
get_api_key(<identifier>) with the configuration from CLOUD_IDAAS_CONFIG_PATH,
printing {"api_key": ...} or {"error_code": ..., "text": ...}."""

import json
import sys

from cloud_idaas.core import IDaaSCredentialProviderFactory
from cloud_idaas.pam_client import IDaaSPamClient


def main():
    try:
        IDaaSCredentialProviderFactory.init()
        client = IDaaSPamClient()
        print(json.dumps({"api_key": client.get_api_key(sys.argv[1])}))
        return 0
    except Exception as e:  # noqa: BLE001 - report what the client raised
        print(json.dumps({"error_code": getattr(e, "error_code", None), "exception": type(e).__name__, "text": str(e)}))
        return 1


if __name__ == "__main__":
    sys.exit(main())
