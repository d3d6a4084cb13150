"""Runs RAM/STS calls through Alibaba Cloud's official Python SDKs, unmodified, against the
endpoint in $TESSERA_ENDPOINT (host:port, plain HTTP).

stdin: a JSON array of calls, each
    {"sdk": "tea" | "core",          # alibabacloud_{ram20150501,sts20150401} | aliyun-python-sdk-core
     "signature": "v3" | "v2",       # tea only: ACS3-HMAC-SHA256 (the default) or RPC v1 HMAC-SHA1
     "key": {"id": ..., "secret": ..., "token": null | "..."},
     "product": "ram" | "sts", "action": "CreateUser", "params": {"UserName": "alice", ...}}
stdout: a JSON array of results, one per call, in order:
    {"ok": true, "status": 200, "body": {...}}                        # the SDK's parsed body
    {"ok": false, "status": 404, "code": "EntityNotExist.User",       # the SDK's exception
     "message": "...", "request_id": "...", "exception": "ClientException"}

The tea SDKs are called through their typed methods (`create_user_with_options` with a
`CreateUserRequest` built from the Alibaba parameter names), the core SDK through its
CommonRequest, as applications use them.
"""

import json
import os
import sys

ENDPOINT = os.environ["TESSERA_ENDPOINT"]


def tea_call(call):
    from alibabacloud_tea_openapi.utils_models import Config
    from darabonba.runtime import RuntimeOptions

    if call["product"] == "ram":
        from alibabacloud_ram20150501 import models
        from alibabacloud_ram20150501.client import Client
    else:
        from alibabacloud_sts20150401 import models
        from alibabacloud_sts20150401.client import Client
    key = call["key"]
    config = Config(
        access_key_id=key["id"],
        access_key_secret=key["secret"],
        security_token=key.get("token"),
        endpoint=ENDPOINT,
        protocol="http",
        signature_algorithm="v2" if call.get("signature") == "v2" else None,
    )
    client = Client(config)
    action = call["action"]
    # The SDK's own method (`create_user_with_options`; acronyms are spelled its way, as in
    # `create_virtual_mfadevice_with_options`) and request model.
    wanted = (action + "WithOptions").lower()
    method = next(
        getattr(client, name)
        for name in dir(client)
        if name.replace("_", "") == wanted
    )
    runtime = RuntimeOptions(autoretry=False, max_attempts=1)
    request_class = getattr(models, action + "Request", None)
    try:
        if request_class is None:
            response = method(runtime)
        else:
            response = method(request_class().from_map(call.get("params", {})), runtime)
    except Exception as e:  # the SDK's exceptions: ClientException, ServerException, ...
        return {
            "ok": False,
            "status": getattr(e, "status_code", None) or getattr(e, "statusCode", None),
            "code": getattr(e, "code", None),
            "message": getattr(e, "message", str(e)),
            "request_id": getattr(e, "request_id", None),
            "exception": type(e).__name__,
            "retry_after": getattr(e, "retry_after", None),
        }
    return {"ok": True, "status": response.status_code, "body": response.body.to_map()}


def core_call(call):
    from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
    from aliyunsdkcore.auth.credentials import AccessKeyCredential, StsTokenCredential
    from aliyunsdkcore.client import AcsClient
    from aliyunsdkcore.request import CommonRequest

    key = call["key"]
    if key.get("token"):
        credential = StsTokenCredential(key["id"], key["secret"], key["token"])
    else:
        credential = AccessKeyCredential(key["id"], key["secret"])
    client = AcsClient(region_id="cn-hangzhou", credential=credential, auto_retry=False)
    request = CommonRequest()
    request.set_domain(ENDPOINT)
    request.set_protocol_type("http")
    request.set_method("POST")
    request.set_accept_format("json")
    request.set_version("2015-05-01" if call["product"] == "ram" else "2015-04-01")
    request.set_action_name(call["action"])
    for name, value in call.get("params", {}).items():
        request.add_query_param(name, value)
    try:
        body = client.do_action_with_exception(request)
    except ServerException as e:
        return {
            "ok": False,
            "status": e.get_http_status(),
            "code": e.get_error_code(),
            "message": e.get_error_msg(),
            "request_id": e.get_request_id(),
            "exception": "ServerException",
        }
    except ClientException as e:
        return {
            "ok": False,
            "status": None,
            "code": e.get_error_code(),
            "message": e.get_error_msg(),
            "exception": "ClientException",
        }
    return {"ok": True, "status": 200, "body": json.loads(body)}


def main():
    calls = json.load(sys.stdin)
    results = []
    for call in calls:
        if call["sdk"] == "tea":
            results.append(tea_call(call))
        elif call["sdk"] == "core":
            results.append(core_call(call))
        else:
            raise ValueError("unknown sdk: " + call["sdk"])
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
