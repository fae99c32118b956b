"""Smoke test of the official PyPI `e2b` SDK against sandboxd.

Configured only through E2B_API_URL, E2B_SANDBOX_URL and E2B_API_KEY (set by the node:test
wrapper, smoke.test.mjs). Covers the sync and the async client: create, run a command, write
and read a file, kill. Exits non-zero on the first failed check.
"""

import asyncio
import os

from e2b import AsyncSandbox, Sandbox
from e2b.exceptions import NotFoundException


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def sync_client():
    sbx = Sandbox.create(metadata={"client": "python-sync"}, envs={"FROM_CREATE": "py"})
    try:
        result = sbx.commands.run('echo "hello $FROM_CREATE"; whoami')
        check(result.stdout == "hello py\nuser\n", f"stdout {result.stdout!r}")
        check(result.exit_code == 0, f"exit code {result.exit_code}")

        info = sbx.files.write("/home/user/from-python.txt", "written by the Python SDK")
        check(info.path == "/home/user/from-python.txt", f"write returned {info}")
        content = sbx.files.read("/home/user/from-python.txt")
        check(content == "written by the Python SDK", f"read back {content!r}")

        check(sbx.get_info().metadata == {"client": "python-sync"}, "metadata lost")
        check(sbx.is_running(), "is_running() is false for a live sandbox")
    finally:
        check(sbx.kill() is True, "kill() did not report success")
    check(not sbx.is_running(), "is_running() is true after kill")
    try:
        Sandbox.get_info(sbx.sandbox_id)
    except NotFoundException:
        pass
    else:
        raise AssertionError("get_info of a killed sandbox succeeded")


async def async_client():
    sbx = await AsyncSandbox.create()
    try:
        result = await sbx.commands.run("python3 -c 'print(6 * 7)'")
        check(result.stdout == "42\n", f"stdout {result.stdout!r}")
        await sbx.files.write("/tmp/async.txt", b"\x00binary\xff")
        data = await sbx.files.read("/tmp/async.txt", format="bytes")
        check(bytes(data) == b"\x00binary\xff", f"read back {data!r}")
    finally:
        await sbx.kill()


sync_client()
asyncio.run(async_client())
print("python smoke: ok", flush=True)
# Skip interpreter finalisation: pyqwest (the SDK's Rust HTTP client) still has runtime threads
# calling into Python then, which makes CPython abort with "PyGILState_Release" about one run in
# five, after every check above has passed.
os._exit(0)
