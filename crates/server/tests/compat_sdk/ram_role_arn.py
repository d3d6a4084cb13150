"""`alibabacloud-credentials`' `ram_role_arn` provider, unmodified, against the STS endpoint
in $TESSERA_ENDPOINT (host:port, plain HTTP): obtaining credentials, refreshing them, and the
official STS SDK calling with what the provider hands out.

Environment: TESSERA_ENDPOINT, TESSERA_ACCESS_KEY_ID / TESSERA_ACCESS_KEY_SECRET (the source
credential), TESSERA_ROLE_ARN.

The provider (alibabacloud_credentials.provider.ram_role_arn, refreshable) refreshes when its
cached credential is stale: 15 minutes before `Expiration` (parsed as exactly
`%Y-%m-%dT%H:%M:%SZ`). With `DurationSeconds=900` a fresh credential is stale at once, so every
`get_credential()` assumes the role again; with 3600 it is cached until the provider's clock
reaches Expiration - 15 min, which this script makes it believe by moving the clock the
refresh logic reads (the `time` module of `refreshable`) 46 minutes ahead — no waiting.

stdout: one JSON object describing what happened (the Rust test asserts on it).
"""

import json
import os
import sys
import time as real_time

from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_credentials.models import Config as CredentialConfig
from alibabacloud_credentials.provider import refreshable
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.utils_models import Config

ENDPOINT = os.environ["TESSERA_ENDPOINT"]
KEY_ID = os.environ["TESSERA_ACCESS_KEY_ID"]
KEY_SECRET = os.environ["TESSERA_ACCESS_KEY_SECRET"]
ROLE_ARN = os.environ["TESSERA_ROLE_ARN"]


class ShiftedClock:
    """The `time` module, `seconds` later (only what refreshable.py reads is shifted)."""

    def __init__(self, seconds):
        self.seconds = seconds

    def localtime(self, *args):
        return real_time.localtime(real_time.time() + self.seconds)

    def __getattr__(self, name):
        return getattr(real_time, name)


def provider(duration, secret=KEY_SECRET, policy=None, session="provider-test"):
    return CredentialClient(
        CredentialConfig(
            type="ram_role_arn",
            access_key_id=KEY_ID,
            access_key_secret=secret,
            role_arn=ROLE_ARN,
            role_session_name=session,
            role_session_expiration=duration,
            policy=policy,
            # The provider hard-codes https; an endpoint with a scheme is used as is.
            sts_endpoint="http://" + ENDPOINT,
        )
    )


def caller_identity(credential_client):
    """GetCallerIdentity through the STS SDK (ACS3) with the provider's credentials."""
    client = StsClient(Config(credential=credential_client, endpoint=ENDPOINT, protocol="http"))
    return client.get_caller_identity().body.to_map()


def main():
    out = {}

    # A session policy with spaces: the provider signs it with '+' for spaces (quote_plus).
    policy = json.dumps(
        {
            "Version": "1",
            "Statement": [
                {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"},
                {"Effect": "Allow", "Action": "ram:List*", "Resource": "*"},
            ],
        }
    )
    short = provider(900, policy=policy, session="short-session")
    first = short.get_credential()
    second = short.get_credential()
    out["short"] = {
        "first": first.access_key_id,
        "second": second.access_key_id,
        "provider_name": first.provider_name,
        "identity": caller_identity(short),
    }

    cached = provider(3600, session="long-session")
    one = cached.get_credential().access_key_id
    two = cached.get_credential().access_key_id
    saved_time = refreshable.time
    refreshable.time = ShiftedClock(46 * 60)
    try:
        three = cached.get_credential().access_key_id
    finally:
        refreshable.time = saved_time
    # Back on the real clock, the refreshed credential is cached again.
    four = cached.get_credential().access_key_id
    out["long"] = {
        "one": one,
        "two": two,
        "three": three,
        "four": four,
        "identity": caller_identity(cached),
    }

    try:
        provider(900, secret="not-the-secret").get_credential()
        out["wrong_secret"] = {"raised": False}
    except CredentialException as e:
        out["wrong_secret"] = {"raised": True, "message": str(e)}

    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
