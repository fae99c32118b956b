"""The official PyPI `e2b` SDK's network options against sandboxd.

Each option the SDK sends reaches sandboxd as sent and is kept (get_info), update_network
replaces the egress rules, and what sandboxd cannot enforce is refused with a message that
says so. Enforcement on the wire is tested through the npm SDK (tests/sandboxd/network.test.mjs);
no traffic leaves the sandboxes here. Exits non-zero on the first failed check.
"""

import os

from e2b import ALL_TRAFFIC, Sandbox
from e2b.exceptions import SandboxException

ALLOWED = "10.199.0.0/24"


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def refused(call, fragment):
    try:
        call()
    except SandboxException as e:
        check(fragment in str(e), f"refusal without {fragment!r}: {e}")
    else:
        raise AssertionError(f"accepted what sandboxd cannot enforce ({fragment})")


sbx = Sandbox.create(
    network={
        "deny_out": [ALL_TRAFFIC],
        "allow_out": [ALLOWED],
        "allow_public_traffic": False,
        "mask_request_host": "${PORT}-py.example.test",
    }
)
try:
    check(len(sbx.traffic_access_token or "") == 64, "no traffic access token")
    network = sbx.get_info().network
    check(
        network
        == {
            "allow_out": [ALLOWED],
            "deny_out": [ALL_TRAFFIC],
            "allow_public_traffic": False,
            "mask_request_host": "${PORT}-py.example.test",
        },
        f"network kept as {network}",
    )

    sbx.update_network({"deny_out": [ALL_TRAFFIC]})
    network = sbx.get_info().network
    check("allow_out" not in network, f"allow_out not cleared: {network}")
    check(network["deny_out"] == [ALL_TRAFFIC], f"deny_out {network}")
    check(network["mask_request_host"] == "${PORT}-py.example.test", "mask lost on update")
    sbx.update_network({"allow_internet_access": False})
    check(sbx.get_info().allow_internet_access is False, "allow_internet_access not kept")

    refused(
        lambda: sbx.update_network({"allow_out": ["example.com"]}),
        "domain rules are not supported by sandboxd",
    )
finally:
    sbx.kill()

refused(
    lambda: Sandbox.create(network={"allow_out": ["*.example.com"]}),
    "domain rules are not supported by sandboxd",
)
refused(
    lambda: Sandbox.create(network={"egress_proxy": {"address": "127.0.0.1:1080"}}),
    "egress proxies",
)
print("python network: ok", flush=True)
# As in smoke.py: skip interpreter finalisation, which the SDK's HTTP client can abort.
os._exit(0)
