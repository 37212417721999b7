#!/usr/bin/env python3
"""Drive the KooPhone routes of `phonefleet simulate` with Huawei's official core SDK (huaweicloudsdkcore),
unchanged: no KooPhone SDK is on PyPI, but the core SDK's generic client signs (SDK-HMAC-SHA256, with
`X-Project-Id`) and sends any request, and raises the gateway's errors as the service SDKs do. An
independent client of the documented KooPhone shapes (KP-doc `ListInstances`, `BatchQueryStatus`,
`api-koophone/ErrorCode.html`), with a token and with AK/SK.

Usage: phonefleet simulate --fixture tests/sdk/koophone_fixture.yaml   # prints its URL
       python3 tests/sdk/official_core_koophone.py URL
Run by .ci/run beside the CPH SDK check.
"""
import sys, time
import uuid

from huaweicloudsdkcore.auth.credentials import BasicCredentials, Credentials
from huaweicloudsdkcore.client import Client, ClientBuilder
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.sdk_response import SdkResponse
from huaweicloudsdkcore.signer.signer import Signer

url = sys.argv[1]
PROJECT = "0c1e2f3a4b5c6d7e8f90a1b2c3d4e5f6"


class KooPhoneResponse(SdkResponse):
    """Every KooPhone answer: the error fields at the top, the payload in `data`."""

    openapi_types = {"error_code": "str", "error_msg": "str", "data": "object"}
    attribute_map = {"error_code": "error_code", "error_msg": "error_msg", "data": "data"}

    def __init__(self, error_code=None, error_msg=None, data=None):
        super().__init__()
        self.error_code, self.error_msg, self.data = error_code, error_msg, data


class TokenCredentials(Credentials):
    """An IAM token in `X-Auth-Token`, the core SDK's request otherwise unchanged."""

    def __init__(self, token):
        super().__init__()
        self.token = token

    def get_update_path_params(self):
        return {}

    def process_auth_request(self, request, http_client):
        return http_client.executor.submit(self.sign_request, request)

    def sign_request(self, request):
        request.header_params["X-Auth-Token"] = self.token
        Signer.process_request_uri(request)  # the URI the signer would have made, unsigned
        return request


class KooPhoneClient(Client):
    def __init__(self):
        super().__init__()
        self.model_package = sys.modules[__name__]  # where the response type is found by name

    def call(self, method, path, query=None, body=None, request_id=True):
        headers = {"Content-Type": "application/json"}
        if request_id:
            headers["x-request-id"] = str(uuid.uuid4())
        return self.do_http_request(
            method=method, resource_path=path, query_params=query or [], header_params=headers,
            body=body, response_type="KooPhoneResponse", response_headers=[],
        )


def client(credentials):
    cfg = HttpConfig.get_default_config()
    cfg.ignore_ssl_verification = True
    kinds = "BasicCredentials,TokenCredentials"
    return ClientBuilder(KooPhoneClient, kinds).with_http_config(cfg).with_credentials(credentials) \
        .with_endpoint(url).build()


def status(c, ids):
    return c.call("POST", "/v1/instances/batch-query-status", body={"instance_ids": ids})


def refused(call):
    try:
        call()
    except ClientRequestException as e:
        return e.status_code, e.error_code
    raise AssertionError("the call was not refused")


for mode, creds in [
    ("token", TokenCredentials("KPTOKEN-sdk-test")),
    ("AK/SK", BasicCredentials("AKKPSDKTEST", "SKKPSDKTESTsecret", PROJECT)),
]:
    c = client(creds)
    # ListInstances: everything inside `data`, `page_no`/`page_size` required.
    page = c.call("GET", "/v1/instances/batch-query", query=[("page_no", 1), ("page_size", 100)])
    rows = {r["instance_id"]: r for r in page.data["result"]}
    print(mode, "list:", [(i, r["running_status"], r["frozen_status"], r["instance_name"]) for i, r in rows.items()])
    assert page.data["error_code"] == "0" and page.data["total_count"] == 3, page.data
    assert (rows["k1"]["running_status"], rows["k1"]["instance_name"]) == (2, "kp-one"), rows
    assert rows["k2"]["running_status"] == 1 and rows["k3"]["frozen_status"] == 1, rows
    # BatchQueryStatus: unknown ids left out of `status_results`; 100 ids a call (the 2025 pages).
    s = status(c, ["k1", "k2", "nope"])
    print(mode, "status:", s.data["status_results"])
    assert s.error_code == "0"
    assert {r["instance_id"]: r["status"] for r in s.data["status_results"]} == {"k1": 2, "k2": 1}
    assert status(c, ["k1"] * 100).error_code == "0"
    assert refused(lambda: status(c, ["k1"] * 101))[0] == 400
    # A frozen instance: KOOPHONE.API.2004, documented with HTTP 200.
    frozen = status(c, ["k3"])
    print(mode, "frozen:", frozen.error_code, frozen.error_msg)
    assert frozen.error_code == "KOOPHONE.API.2004"
    # No x-request-id: KOOPHONE.API.0002 with HTTP 200.
    missing = c.call("POST", "/v1/instances/batch-query-status", body={"instance_ids": ["k1"]}, request_id=False)
    assert missing.error_code == "KOOPHONE.API.0002", missing

# Reset (KPDOC BatchReset.html): a task and a job per instance, followed with the task route until done.
c = client(TokenCredentials("KPTOKEN-sdk-test"))
r = c.call("POST", "/v1/instances/batch-reset", body={"instance_ids": ["k1"]})
print("reset:", r.error_code, r.data)
assert r.error_code == "0" and r.data["task_id"].startswith("RM_"), r
assert [j["instance_id"] for j in r.data["cmd_jobs"]] == ["k1"]
for _ in range(50):
    t = c.call("GET", "/v1/instances/tasks/" + r.data["task_id"])
    if all(j["status"] == 2 for j in t.data["jobs"]):
        break
    time.sleep(0.1)
print("task:", t.data["jobs"])
assert all(j["status"] == 2 for j in t.data["jobs"]), t.data
assert refused(lambda: c.call("GET", "/v1/instances/tasks/RM_nope"))[1] == "KOOPHONE.API.1323"

# The gateway refuses a bad token and a bad signature with HTTP 401 APIGW.0301 (not a KooPhone code).
for creds in [TokenCredentials("wrong"), BasicCredentials("AKKPSDKTEST", "not-the-secret", PROJECT)]:
    got = refused(lambda: status(client(creds), ["k1"]))
    print("refused:", got)
    assert got == (401, "APIGW.0301"), got
print("official core SDK against KooPhone: ok")
