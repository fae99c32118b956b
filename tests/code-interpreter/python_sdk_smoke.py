"""Smoke test of the official PyPI `e2b-code-interpreter` SDK against sandboxd's execution server.

Run by python-sdk.test.mjs with E2B_API_URL, E2B_SANDBOX_URL and E2B_API_KEY pointing at a
sandboxd that has built code-interpreter-v1. Checks what the Python SDK parses itself: a text
result, streamed stdout, a DataFrame's data, a chart deserialized into its classes, an error
with its traceback, and that the context is usable after it. Fails on the first wrong value.
"""

import asyncio
import os

from e2b_code_interpreter import AsyncSandbox, Sandbox
from e2b_code_interpreter.charts import BarChart, ChartType, LineChart, SuperChart

CHART_CELL = """
import matplotlib.pyplot as plt
fig, (left, right) = plt.subplots(1, 2)
fig.suptitle("From Python")
left.plot([1, 2, 3], [2, 4, 8], label="doubling")
left.set_title("growth")
left.set_xlabel("step")
right.bar(["a", "b"], [5, 3], label="count")
plt.show()
"""


def sync_client():
    sbx = Sandbox.create()
    try:
        stdout = []
        execution = sbx.run_code('print("hi")\n6 * 7', on_stdout=lambda out: stdout.append(out.line))
        assert execution.text == "42", execution
        assert execution.results[0].is_main_result, execution.results
        assert stdout == ["hi\n"], stdout

        frame = sbx.run_code('import pandas as pd\npd.DataFrame({"k": ["x", "y"], "v": [1, 2]})').results[0]
        assert frame.data == {"k": ["x", "y"], "v": [1, 2]}, frame.data
        assert "data" in frame.formats() and "html" in frame.formats(), frame.formats()

        [figure] = sbx.run_code(CHART_CELL).results
        assert figure.png, figure.formats()
        chart = figure.chart
        assert isinstance(chart, SuperChart) and chart.type == ChartType.SUPERCHART, chart
        assert chart.title == "From Python", chart.title
        line, bar = chart.elements
        assert isinstance(line, LineChart) and line.title == "growth" and line.x_label == "step", line
        assert [(e.label, e.points) for e in line.elements] == [("doubling", [(1, 2), (2, 4), (3, 8)])], line.to_dict()
        assert isinstance(bar, BarChart), bar
        assert [(e.label, e.group, e.value) for e in bar.elements] == [("a", "count", 5), ("b", "count", 3)], bar.to_dict()

        errors = []
        failed = sbx.run_code('raise KeyError("missing")', on_error=errors.append)
        assert failed.error.name == "KeyError", failed.error
        assert failed.error.value == "'missing'", failed.error.value
        assert "KeyError" in failed.error.traceback, failed.error.traceback
        assert errors == [failed.error], errors
        assert sbx.run_code("1 + 1").text == "2"
    finally:
        sbx.kill()


async def async_client():
    sbx = await AsyncSandbox.create()
    try:
        execution = await sbx.run_code("sum(range(10))")
        assert execution.text == "45", execution
        failed = await sbx.run_code("1 / 0")
        assert failed.error.name == "ZeroDivisionError", failed.error
    finally:
        await sbx.kill()


sync_client()
asyncio.run(async_client())
print("python code-interpreter smoke: ok", flush=True)
# Skip interpreter finalization: a thread of the official SDK's HTTP stack can still be releasing
# the GIL then and abort the process (PyGILState_Release while finalizing) after every check
# passed; what this smoke checks is done.
os._exit(0)
