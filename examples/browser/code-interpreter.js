// e2b-wasm/code-interpreter in a browser page: create a code-interpreter sandbox, run a cell
// whose stdout streams into the page and whose matplotlib figure is shown as its PNG and as a
// chart drawn from its data, run a cell that raises and show its traceback, show untrusted
// output without letting it run script here, and kill the sandbox. window.example tells a test
// (or you) how it went.
import { Sandbox } from 'e2b-wasm/code-interpreter';

import { $, runExample, sandboxOptions, status } from './page.js';

const PLOT_CELL = `import time
import matplotlib.pyplot as plt

for step in range(1, 4):
    print(f"step {step} of 3", flush=True)
    time.sleep(0.3)

xs = list(range(10))
plt.plot(xs, [x * x for x in xs], label="x²")
plt.title("squares")
plt.show()
`;
const FAILING_CELL = `def divide(a, b):
    return a / b

divide(1, 0)
`;
// What generated code might print to attack the page showing it: each payload would set
// window.pwned if it ran in this page.
const UNTRUSTED_CELL = String.raw`from IPython.display import HTML, SVG, display
import matplotlib.pyplot as plt

display(HTML('<b>bold</b><script>top.pwned = "html"</script><img src="x" onerror="top.pwned = \'html img\'">'))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" onload="top.pwned = \'svg\'">'
            '<script>top.pwned = "svg script"</script><rect width="40" height="40" fill="teal"/></svg>'))
plt.plot([0, 1, 2], [2, 0, 1])
plt.title('<img src="x" onerror="top.pwned = \'chart title\'">')
plt.show()
`;

/**
 * The nodes that show a result. Code output is untrusted, so none of it may run script in this
 * page: PNG and SVG only as images (an image runs no script), HTML only in an iframe whose empty
 * `sandbox` attribute forbids script, a chart drawn here with every label set as text.
 */
function render(result) {
  const nodes = [];
  if (result.png) nodes.push(Object.assign(new Image(), { src: `data:image/png;base64,${result.png}`, alt: 'the figure' }));
  if (result.chart) nodes.push(drawChart(result.chart));
  if (result.svg) {
    // Percent-encoded, not spread into btoa: a large SVG would overflow the call stack.
    nodes.push(Object.assign(new Image(), { src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(result.svg)}`, alt: 'SVG output' }));
  }
  if (result.html) {
    const frame = Object.assign(document.createElement('iframe'), { srcdoc: result.html, title: 'HTML output' });
    frame.setAttribute('sandbox', '');
    nodes.push(frame);
  }
  return nodes;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
const W = 320;
const H = 220;

function svgNode(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A line chart's series as polylines under its title; other chart types only by name. */
function drawChart(chart) {
  const root = svgNode('svg', { class: 'chart', width: W, height: H, viewBox: `0 0 ${W} ${H}` });
  root.append(svgNode('rect', { width: W, height: H, fill: '#fff' }));
  root.append(svgNode('text', { x: W / 2, y: 18, 'text-anchor': 'middle', 'font-size': 12, 'font-weight': 'bold' }, chart.title ?? ''));
  if (chart.type !== 'line') {
    root.append(svgNode('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, `(a ${chart.type} chart)`));
    return root;
  }
  // x values that are not numbers (dates, categories) are placed by their index.
  const series = chart.elements.map((e) => e.points.map(([x, y], i) => [typeof x === 'number' ? x : i, Number(y)]));
  const all = series.flat();
  const fit = (values, from, to) => {
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    return (v) => (hi === lo ? (from + to) / 2 : from + ((v - lo) / (hi - lo)) * (to - from));
  };
  const sx = fit(all.map(([x]) => x), 24, W - 16);
  const sy = fit(all.map(([, y]) => y), H - 24, 36);
  // The axes, as one corner.
  root.append(svgNode('path', { d: `M16,28 V${H - 16} H${W - 8}`, fill: 'none', stroke: '#333' }));
  for (const points of series) {
    const line = points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    root.append(svgNode('polyline', { class: 'series', points: line, fill: 'none', stroke: '#4e79a7', 'stroke-width': 2 }));
  }
  return root;
}

runExample(async (example) => {
  example.stdoutChunks = 0;

  status('creating a code-interpreter sandbox');
  const sandbox = await Sandbox.create({ ...(await sandboxOptions()), timeoutMs: 120_000 });
  example.sandboxId = sandbox.sandboxId;
  $('sandbox-id').textContent = sandbox.sandboxId;

  status('running a cell that prints and plots');
  await sandbox.runCode(PLOT_CELL, {
    onStdout: (output) => {
      example.stdoutChunks++;
      $('stdout').textContent += output.line;
    },
    onResult: (result) => $('plot').append(...render(result)),
  });

  status('running a cell that raises');
  const { error } = await sandbox.runCode(FAILING_CELL);
  // Kernels may colour tracebacks with ANSI codes, which a <pre> would show as noise.
  $('error').textContent = `${error.name}: ${error.value}\n${error.traceback}`.replace(/\x1b\[[0-9;]*m/g, '');

  status('running a cell with untrusted output');
  const untrusted = await sandbox.runCode(UNTRUSTED_CELL);
  for (const result of untrusted.results) $('untrusted').append(...render(result));

  status('killing the sandbox');
  example.killed = await sandbox.kill();
  status('done');
});
