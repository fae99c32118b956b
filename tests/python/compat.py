"""What issue 13 found different with the official PyPI SDK, checked against sandboxd: a sandbox
killed while a command streams is reported as killed (not as a timeout), unsupported features
raise an error that says so (not "sandbox not found"), and the `base` template can be asked
about.

Run by tests/sandboxd/compat-python.test.mjs once per pinned SDK version (2.45 and 2.63),
configured only through E2B_API_URL, E2B_SANDBOX_URL and E2B_API_KEY. Exits non-zero on the
first failed check.
"""

import os
import threading
import time
from importlib.metadata import version

from e2b import Sandbox
from e2b.exceptions import NotFoundException, SandboxException


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def killed_while_streaming():
    sbx = Sandbox.create()
    streaming = threading.Event()

    def kill_once_streaming():
        streaming.wait(30)
        time.sleep(0.5)
        Sandbox.kill(sbx.sandbox_id)

    killer = threading.Thread(target=kill_once_streaming)
    killer.start()
    try:
        sbx.commands.run("echo started; sleep 60", on_stdout=lambda _: streaming.set(), timeout=90)
    except Exception as e:  # which exception is the point
        error = e
    else:
        error = None
    finally:
        streaming.set()
        killer.join()
    message = str(error)
    check(error is not None, "the command outlived its sandbox")
    check("killed" in message, f"not reported as killed: {type(error).__name__}: {message}")
    check("likely due to sandbox timeout" not in message, f"blamed on the timeout: {message}")


def unsupported_feature_says_so():
    sbx = Sandbox.create()
    try:
        try:
            sbx.create_snapshot()
        except NotFoundException as e:
            raise AssertionError(f"a snapshot of a running sandbox raised {type(e).__name__}: {e}")
        except SandboxException as e:
            check("not available on sandboxd" in str(e), f"snapshot error does not say why: {e}")
        else:
            raise AssertionError("create_snapshot succeeded")
        check(sbx.is_running(), "the sandbox stopped")
    finally:
        sbx.kill()


def base_template_exists():
    from e2b import Template

    check(Template.exists("base") is True, "Template.exists('base') is not True")
    check(Template.exists("no-such-template") is False, "an unknown template exists")


killed_while_streaming()
unsupported_feature_says_so()
base_template_exists()
print(f"python compat ({version('e2b')}): ok", flush=True)
# Skip interpreter finalisation (see smoke.py: pyqwest's runtime threads can abort CPython).
os._exit(0)
