#!/usr/bin/env python3
"""Drive `phonefleet simulate` with an independent GeeLark client: the HTTP client and response models
of PyPI's geelark-mcp, unchanged (its server refuses http://, so its client is built directly): list,
create (addNew), status, stop and delete, each answer parsed by geelark-mcp's own pydantic models.

Usage: phonefleet simulate --fixture tests/sdk/geelark_fixture.yaml --transition-ms 300  # prints its URL
       python3 tests/sdk/geelark_mcp_client.py URL
Run by .ci/run when geelark-mcp can be installed from PyPI.
"""
import asyncio, sys
import httpx
from geelark_mcp.api.client import GeeLarkClient
from geelark_mcp.api.rate_limit import AsyncRateLimiter
from geelark_mcp.config import Settings
from geelark_mcp.models.phone import BatchOpData, CreatePhoneData, PhoneListData, PhoneStatusData

url = sys.argv[1]


async def main():
    settings = Settings(GEELARK_BEARER_TOKEN="mcp-test-token", GEELARK_BASE_URL=url)
    async with httpx.AsyncClient(timeout=10) as http:
        api = GeeLarkClient(settings, http, AsyncRateLimiter())
        data, _ = await api.request("/phone/list", {"page": 1, "pageSize": 100}, idempotent=True)
        listed = PhoneListData.model_validate(data)
        print("list:", listed.total, [(p.id, p.serial_name) for p in listed.items])
        assert listed.total == 1 and listed.items[0].serial_name == "growth-001"
        # Create two pool members, as phonefleet does: one row each, a proxy URL with credentials.
        payload = {
            "mobileType": "Android 12", "chargeMode": 0, "region": "sgp",
            "data": [
                {"profileName": name, "profileGroup": "growth", "profileTags": ["tiktok"],
                 "proxyInformation": "socks5://u%40x:p%3Aw@203.0.113.7:1080"}
                for name in ["growth-002", "growth-003"]
            ],
        }
        data, _ = await api.request("/phone/addNew", payload, idempotent=False)
        created = CreatePhoneData.model_validate(data)
        print("create:", created.success_amount, [(d.index, d.code, d.profile_name) for d in created.details])
        assert created.success_amount == 2 and all(d.id for d in created.details)
        ids = [d.id for d in created.details]
        data, _ = await api.request("/phone/list", {"page": 1, "pageSize": 100, "serialName": "growth-"}, idempotent=True)
        members = PhoneListData.model_validate(data)
        print("members:", sorted(p.serial_name for p in members.items))
        assert sorted(p.serial_name for p in members.items) == ["growth-001", "growth-002", "growth-003"]
        assert all(p.group and p.group.name == "growth" for p in members.items if p.id in ids)
        data, _ = await api.request("/phone/status", {"ids": ids}, idempotent=True)
        status = PhoneStatusData.model_validate(data)
        assert [s.status for s in status.success_details] == [2, 2], status
        # The running member must be stopped before it can be deleted (43009).
        data, _ = await api.request("/phone/delete", {"ids": ["g1"] + ids}, idempotent=False, partial_ok=True)
        deleted = BatchOpData.model_validate(data)
        print("delete:", deleted.success_amount, [(f.id, f.code) for f in deleted.fail_details])
        assert deleted.success_amount == 2 and [(f.id, f.code) for f in deleted.fail_details] == [("g1", 43009)]
        data, _ = await api.request("/phone/stop", {"ids": ["g1"]}, idempotent=True)
        data, _ = await api.request("/phone/delete", {"ids": ["g1"]}, idempotent=False, partial_ok=True)
        assert BatchOpData.model_validate(data).success_amount == 1
        data, _ = await api.request("/phone/list", {"page": 1, "pageSize": 100}, idempotent=True)
        assert PhoneListData.model_validate(data).total == 0
    print("geelark-mcp client: ok")


asyncio.run(main())
