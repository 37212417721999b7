#!/usr/bin/env python3
"""Drive `phonefleet simulate` with Huawei's official CPH Python SDK (huaweicloudsdkcph), unchanged:
AK/SK signing (the SDK signs Content-Type too), every route phonefleet uses, and the results checked.

Usage: phonefleet simulate --fixture tests/sdk/fixture.yaml --transition-ms 300  # prints its URL
       python3 tests/sdk/official_cph_sdk.py URL
Run by .ci/run when the SDK can be installed from PyPI.
"""
import sys, time, json
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcph.v1 import *
url, pid = sys.argv[1], "0c1e2f3a4b5c6d7e8f90a1b2c3d4e5f6"
cfg = HttpConfig.get_default_config(); cfg.ignore_ssl_verification = True
client = CphClient.new_builder().with_http_config(cfg).with_credentials(BasicCredentials("AKSDKTEST", "SKSDKTESTsecret", pid)).with_endpoint(url).build()
r = client.list_cloud_phones(ListCloudPhonesRequest(offset=0, limit=200))
print("list:", r.count, [(p.phone_id, p.status, p.traffic_type) for p in r.phones])
d = client.show_cloud_phone_detail(ShowCloudPhoneDetailRequest(phone_id="1234567b8bab40ffb711234cb80d0234"))
print("detail:", d.status, d._property if hasattr(d, "_property") else d.to_dict().get("property"))
s = client.stop_cloud_phone(StopCloudPhoneRequest(body=StopCloudPhoneRequestBody(phone_ids=["1234567b8bab40ffb711234cb80d0234", "nope"])))
print("stop:", s.request_id, [(j.phone_id, j.job_id, j.error_code) for j in s.jobs])
t = client.import_traffic(ImportTrafficRequest(body=ImportTrafficRequestBody(traffic_type="routing", phone_ids=["1234567b8bab40ffb711234cb80d0234"])))
print("traffic:", [(j.phone_id, j.error_code) for j in t.jobs])
u = client.update_cloud_phone_property(UpdateCloudPhonePropertyRequest(body=UpdateCloudPhonePropertyRequestBody(phones=[PropertyToUpdate(phone_id="1234567b8bab40ffb711234cb80d0234", _property=json.dumps({"sys.prop.writephonenum": "13666666666"}))])))
print("property:", [(j.phone_id, j.error_code) for j in u.jobs])
st = client.restart_cloud_phone(RestartCloudPhoneRequest(body=RestartCloudPhoneRequestBody(phones=[PhoneProperty(phone_id="1678567b8bab40f93711234cb80d0764")])))
print("restart:", [(j.phone_id, j.error_code) for j in st.jobs])
time.sleep(0.8)
jobs = client.list_jobs(ListJobsRequest(request_ids=",".join([s.request_id, st.request_id])))
print("jobs:", [(j.phone_id, j.status) for j in jobs.jobs])
one = client.show_job(ShowJobRequest(job_id=jobs.jobs[0].job_id))
print("job:", one.status)
r = client.list_cloud_phones(ListCloudPhonesRequest(offset=0, limit=200))
print("after:", [(p.phone_id, p.status, p.traffic_type) for p in r.phones])
d = client.show_cloud_phone_detail(ShowCloudPhoneDetailRequest(phone_id="1234567b8bab40ffb711234cb80d0234"))
print("props after:", d._property)
assert r.count == 2
assert {p.phone_id: (p.status, p.traffic_type) for p in r.phones} == {
    "1234567b8bab40ffb711234cb80d0234": (8, "routing"),
    "1678567b8bab40f93711234cb80d0764": (2, "direct"),
}, r.phones
assert json.loads(d._property)["sys.prop.writephonenum"] == "13666666666"
assert [j.error_code for j in s.jobs] == [None, "CPS.0005"]
assert all(j.status == 2 for j in jobs.jobs) and one.status == 2
# Reset (onto an image the account lists) and the image list, as phonefleet uses them.
images = client.list_cloud_phone_images(ListCloudPhoneImagesRequest(image_type="all", limit=500))
print("images:", [i.image_id for i in images.phone_images])
assert "sim-image" in [i.image_id for i in images.phone_images]
rs = client.reset_cloud_phone(ResetCloudPhoneRequest(body=ResetCloudPhoneRequestBody(image_id="sim-image", phones=[ResetPhoneProperty(phone_id="1678567b8bab40f93711234cb80d0764")])))
print("reset:", [(j.phone_id, j.error_code) for j in rs.jobs])
assert [j.error_code for j in rs.jobs] == [None]
for _ in range(50):
    rj = client.list_jobs(ListJobsRequest(request_id=rs.request_id))
    if all(j.status == 2 for j in rj.jobs):
        break
    time.sleep(0.1)
assert all(j.status == 2 for j in rj.jobs), rj.jobs
print("official CPH SDK: ok")
