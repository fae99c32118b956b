// One `runCode` turned into plain data, so that runs of different SDKs (or of ours in another
// runtime, tests/code-interpreter/workerd-worker.mjs) can be compared field by field: the
// Execution, each Result's own fields in order, formats() and toJSON(), logs, error and every
// callback's arguments. No Node built-ins: it runs in workerd too.

/** A Result as data: its own fields (in order), formats() and toJSON(). */
const describeResult = (result) => ({ keys: Object.keys(result), fields: { ...result }, formats: result.formats(), json: JSON.stringify(result) });
/** ipykernel names a cell's file after its process id, which differs between sandboxes. */
const samePid = (text) => text?.replace(/ipykernel_\d+/g, 'ipykernel_N');

/**
 * Runs `code` in `sandbox` with every callback. `stampsInRange` says whether every output was
 * stamped (microseconds) between the call and its end, as the official SDK stamps them.
 */
export async function describedRun(sandbox, code) {
  const calls = [];
  const started = Date.now() * 1000;
  const stamps = [];
  const output = (kind) => (out) => {
    stamps.push(out.timestamp);
    calls.push([kind, Object.keys(out), out.error, out.line]);
  };
  const execution = await sandbox.runCode(code, {
    onStdout: output('stdout'),
    onStderr: output('stderr'),
    onResult: (result) => calls.push(['result', describeResult(result)]),
    onError: (error) => calls.push(['error', error.constructor.name, { ...error, traceback: samePid(error.traceback) }]),
  });
  const ended = Date.now() * 1000;
  return {
    calls,
    stampsInRange: stamps.every((stamp) => stamp >= started && stamp <= ended),
    text: execution.text,
    keys: Object.keys(execution),
    results: execution.results.map(describeResult),
    logs: execution.logs,
    error: execution.error && { ...execution.error, traceback: samePid(execution.error.traceback) },
    errorClass: execution.error?.constructor.name,
    executionCount: execution.executionCount,
    json: samePid(JSON.stringify(execution)),
  };
}

/** Cells whose Executions the suites compare, by what they show. */
export const comparedCells = {
  'a value': '1+1',
  'stdout and stderr': 'import sys\nprint("out 1")\nprint("err 1", file=sys.stderr)\nprint("out 2")\n"done"',
  'display data of every format, and other MIME types as extra': [
    'from IPython.display import display, HTML, Markdown, Latex, JSON, Javascript',
    'display(HTML("<i>x</i>"))',
    'display(Markdown("**m**"))',
    'display(Latex(r"$x^2$"))',
    'display(JSON({"a": [1, 2]}))',
    'display(Javascript("console.log(1)"))',
    'display({"image/png": "iVBORw0KGgo=", "text/plain": "<png>", "application/x-custom": "custom"}, raw=True)',
    'display({"image/svg+xml": "<svg/>", "image/jpeg": "/9j/", "application/pdf": "JVBERi0=", "text/plain": "figure"}, raw=True)',
    '"main"',
  ].join('\n'),
  'no value': 'x = 5',
  'an error with a traceback': 'def f():\n    raise KeyError("missing")\nprint("before")\nf()',
  'a quoted string value': '"it\'s"',
};
