// One `runCode` turned into plain data, so that runs of different SDKs (or of ours in another
// runtime, tests/code-interpreter/workerd-worker.mjs) can be compared field by field: the
// Execution, each Result's own fields in order, formats() and toJSON(), logs, error and every
// callback's arguments. No Node built-ins: it runs in workerd and Chromium too.

/** A Result as data: its own fields (in order), formats() and toJSON(). */
const describeResult = (result) => ({ keys: Object.keys(result), fields: { ...result }, formats: result.formats(), json: JSON.stringify(result) });
/** ipykernel names a cell's file after its process id, which differs between sandboxes. */
const samePid = (text) => text?.replace(/ipykernel_\d+/g, 'ipykernel_N');

/**
 * Runs `cell` (a comparedCells value: Python code, or `{ language, code }`) in `sandbox` with
 * every callback. `stampsInRange` says whether every output was stamped (microseconds) between
 * the call and its end, as the official SDK stamps them. A cell of another language runs in that
 * language's default context, after removing those of the languages but Python and its own: a
 * Deno kernel holds ~180 MiB, and one kernel of each language at a time keeps the sandbox's
 * memory bounded however many cells of other languages ran before.
 */
export async function describedRun(sandbox, cell) {
  const { code, language } = typeof cell === 'string' ? { code: cell } : cell;
  if (language) {
    for (const context of await sandbox.listCodeContexts()) {
      if (context.language !== 'python' && context.language !== language) await sandbox.removeCodeContext(context);
    }
  }
  const calls = [];
  const started = Date.now() * 1000;
  const stamps = [];
  const output = (kind) => (out) => {
    stamps.push(out.timestamp);
    calls.push([kind, Object.keys(out), out.error, out.line]);
  };
  const execution = await sandbox.runCode(code, {
    ...(language && { language }),
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

/** A pause in a Deno cell (see below). */
const settle = 'await new Promise((resolve) => setTimeout(resolve, 200))';

/** Cells whose Executions the suites compare, by what they show: Python code, or another
 * language's `{ language, code }` (a value, stdout and an error in each). */
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
  'a matplotlib line plot: its PNG and line chart': [
    'import matplotlib.pyplot as plt',
    'plt.figure(figsize=(4, 3), dpi=100)',
    'plt.plot([1, 2, 3], [1, 4, 9], label="squares")',
    'plt.plot([1, 2, 3], [1, 2, 3], label="linear")',
    'plt.title("Growth"); plt.xlabel("time [s]"); plt.ylabel("distance [m]")',
    'plt.show()',
  ].join('\n'),
  'a bar chart': [
    'import matplotlib.pyplot as plt',
    'fig, ax = plt.subplots()',
    'ax.bar(["a", "b", "c"], [3, 5, 7], label="sales")',
    'ax.set_title("Sales"); ax.set_xlabel("product"); ax.set_ylabel("units")',
    'plt.show()',
  ].join('\n'),
  'a superchart: a figure of subplots': [
    'import matplotlib.pyplot as plt',
    'fig, (left, right) = plt.subplots(1, 2)',
    'fig.suptitle("Both")',
    'left.plot([1, 2], [3, 4], label="up"); left.set_title("left")',
    'right.bar(["x", "y"], [1, 2]); right.set_title("right")',
    'plt.show()',
  ].join('\n'),
  'a pandas DataFrame: its data and HTML table': [
    'import pandas as pd',
    'pd.DataFrame({"name": ["ada", "bob"], "age": [36, 41], "score": [0.5, float("nan")], "joined": pd.to_datetime(["2020-01-02", "2021-03-04"])})',
  ].join('\n'),
  'a PIL image, the value and shown': 'from PIL import Image\nimg = Image.new("RGB", (32, 16), "red")\nimg.resize((8, 4)).show()\nimg',
  'a sympy expression as LaTeX': 'import sympy\nsympy.init_printing()\nx = sympy.symbols("x")\nsympy.Integral(x**2, x)',
  // Deno's kernel does not always publish in order (a fresh kernel once sent the error before the
  // stdout printed ahead of it): the `settle` pause lets the output out first, so the order is
  // the same in every sandbox.
  'JavaScript: stdout and a value': { language: 'javascript', code: `console.log("out", 1); console.error("err"); ${settle}; ({ a: [1, 2] })` },
  'JavaScript: an error': { language: 'javascript', code: `console.log("before"); ${settle}; throw new TypeError("boom")` },
  'TypeScript: stdout and a value': { language: 'typescript', code: `const x: number = 40; console.log(\`x is \${x}\`); ${settle}; x + 2` },
  'TypeScript: an error': { language: 'typescript', code: 'function f(a: string): never { throw new Error(a) }\nf("boom")' },
  'Bash: stdout and stderr': { language: 'bash', code: 'echo "out $((1+1))"; echo err >&2; printf "no newline"' },
  'Bash: a failed command': { language: 'bash', code: 'echo before; ls /nonexistent' },
  'R: stdout and a value': { language: 'r', code: 'cat("out\\n"); message("err"); data.frame(a = 1:2, b = c("x", "y"))' },
  'R: an error': { language: 'r', code: 'cat("before\\n"); stop("boom")' },
};
