"""`alibabacloud-credentials`' `oidc_role_arn` provider, unmodified, against the STS endpoint in
$TESSERA_ENDPOINT (host:port, plain HTTP): an OIDC token file (as Kubernetes projects a
service-account token) exchanged for role credentials with an unsigned AssumeRoleWithOIDC, the
official STS SDK calling with them, refreshes that read the file again.

Environment: TESSERA_ENDPOINT, TESSERA_ROLE_ARN, TESSERA_OIDC_PROVIDER_ARN,
TESSERA_OIDC_TOKEN_FILE. They are handed to the provider the way a pod gets them
(ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE, read by
the library when it is imported). stdin: {"expired_token": "..."}, written over the token file
at the end to show that a refresh reads the file again.

stdout: one JSON object describing what happened (the Rust test asserts on it).
"""

import json
import os
import sys

ENDPOINT = os.environ["TESSERA_ENDPOINT"]
TOKEN_FILE = os.environ["TESSERA_OIDC_TOKEN_FILE"]
os.environ["ALIBABA_CLOUD_ROLE_ARN"] = os.environ["TESSERA_ROLE_ARN"]
os.environ["ALIBABA_CLOUD_OIDC_PROVIDER_ARN"] = os.environ["TESSERA_OIDC_PROVIDER_ARN"]
os.environ["ALIBABA_CLOUD_OIDC_TOKEN_FILE"] = TOKEN_FILE

from alibabacloud_credentials.client import Client as CredentialClient  # noqa: E402
from alibabacloud_credentials.exceptions import CredentialException  # noqa: E402
from alibabacloud_credentials.models import Config as CredentialConfig  # noqa: E402
from alibabacloud_sts20150401.client import Client as StsClient  # noqa: E402
from alibabacloud_tea_openapi.utils_models import Config  # noqa: E402


def provider(duration, session):
    # Role, provider and token file come from the environment, as in a pod.
    return CredentialClient(
        CredentialConfig(
            type="oidc_role_arn",
            role_session_name=session,
            role_session_expiration=duration,
            # The provider hard-codes https; an endpoint with a scheme is used as is.
            sts_endpoint="http://" + ENDPOINT,
        )
    )


def caller_identity(credential_client):
    """GetCallerIdentity through the STS SDK (ACS3) with the provider's credentials."""
    client = StsClient(Config(credential=credential_client, endpoint=ENDPOINT, protocol="http"))
    return client.get_caller_identity().body.to_map()


def main():
    stdin = json.load(sys.stdin)
    out = {}

    cached = provider(3600, "pod-session")
    one = cached.get_credential()
    two = cached.get_credential()
    out["cached"] = {
        "one": one.access_key_id,
        "two": two.access_key_id,
        "provider_name": one.provider_name,
        "identity": caller_identity(cached),
    }

    # DurationSeconds=900: stale at once (Expiration - 15 min), so every call exchanges the
    # token file again.
    short = provider(900, "short-session")
    out["short"] = {
        "first": short.get_credential().access_key_id,
        "second": short.get_credential().access_key_id,
    }

    with open(TOKEN_FILE, "w") as f:
        f.write(stdin["expired_token"])
    try:
        short.get_credential()
        out["expired"] = {"raised": False}
    except CredentialException as e:
        out["expired"] = {"raised": True, "message": str(e)}

    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
