// The demo's notebook: one code cell run with `runCode` in the demo's own sandbox (so files a
// cell writes show in the file tree), its outputs rendered as they stream. Code output is
// untrusted: nothing it sends may run script in this page's origin, so HTML goes into an
// iframe with an empty `sandbox` attribute (no scripts, an opaque origin), SVG only into an
// <img> (images never run script), Markdown is shown as its text, and charts are drawn here
// from their structured data with textContent for every label.

const SVG_NS = 'http://www.w3.org/2000/svg';
// Offered in the picker. The server has a kernel for Python only so far and answers the others
// with a 400 (its body names what it has; the SDK's error, like the official one's, says 400).
const LANGUAGES = ['python', 'javascript', 'typescript', 'r', 'bash'];
const EXAMPLE = `import time
import matplotlib.pyplot as plt

for step in range(3):
    print(f"step {step}", flush=True)
    time.sleep(0.3)

xs = list(range(10))
plt.plot(xs, [x * x for x in xs], label="x²")
plt.title("squares")
plt.xlabel("x")
plt.ylabel("x²")
plt.legend()
plt.show()

with open("squares.csv", "w") as f:
    f.write("\\n".join(f"{x},{x * x}" for x in xs))
`;

function el(tag, props = {}) {
  return Object.assign(document.createElement(tag), props);
}

export function startNotebook(sandbox, showError) {
  const code = document.getElementById('cell-code');
  const language = document.getElementById('cell-language');
  const run = document.getElementById('cell-run');
  const outputs = document.getElementById('cell-outputs');
  const cell = document.getElementById('cell');
  language.replaceChildren(...LANGUAGES.map((name) => el('option', { value: name, textContent: name })));
  if (!code.value) code.value = EXAMPLE;

  async function runCell() {
    if (cell.dataset.state === 'running') return;
    cell.dataset.state = 'running';
    run.disabled = true;
    outputs.replaceChildren();
    try {
      await sandbox.runCode(code.value, {
        language: language.value,
        onStdout: (msg) => appendStream(outputs, 'stdout', msg.line),
        onStderr: (msg) => appendStream(outputs, 'stderr', msg.line),
        onResult: (result) => outputs.append(renderResult(result)),
        onError: (error) => outputs.append(renderError(error)),
      });
    } catch (err) {
      // A request the server refused (an unknown language…) or a timeout: shown in the cell.
      outputs.append(el('pre', { className: 'out-error', textContent: `${err.name}: ${err.message}` }));
    } finally {
      cell.dataset.state = 'done';
      run.disabled = false;
    }
  }
  run.addEventListener('click', () => runCell().catch(showError));
  code.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && e.shiftKey) {
      e.preventDefault();
      runCell().catch(showError);
    }
  });
  cell.dataset.state = 'idle';
  run.disabled = false;
}

// Consecutive chunks of one stream share one <pre>, so streamed lines read as one block.
function appendStream(outputs, stream, text) {
  let pre = outputs.lastElementChild;
  if (!pre || !pre.classList.contains(`out-${stream}`)) {
    pre = el('pre', { className: `out-${stream}` });
    outputs.append(pre);
  }
  pre.textContent += text;
}

// ANSI colour codes from the kernel's tracebacks, which a <pre> would show as noise.
const stripAnsi = (text) => text.replace(/\x1b\[[0-9;]*m/g, '');

function renderError(error) {
  return el('pre', { className: 'out-error', textContent: stripAnsi(`${error.name}: ${error.value}\n${error.traceback ?? ''}`) });
}

function renderResult(result) {
  const box = el('div', { className: 'out-result' });
  if (result.chart) box.append(drawChart(result.chart));
  if (result.png) box.append(el('img', { className: 'out-png', src: `data:image/png;base64,${result.png}`, alt: 'PNG output' }));
  if (result.jpeg) box.append(el('img', { className: 'out-jpeg', src: `data:image/jpeg;base64,${result.jpeg}`, alt: 'JPEG output' }));
  if (result.svg) {
    const data = btoa(String.fromCharCode(...new TextEncoder().encode(result.svg)));
    box.append(el('img', { className: 'out-svg', src: `data:image/svg+xml;base64,${data}`, alt: 'SVG output' }));
  }
  if (result.html) {
    const frame = el('iframe', { className: 'out-html', srcdoc: result.html, title: 'HTML output' });
    frame.setAttribute('sandbox', '');
    box.append(frame);
  }
  if (result.markdown) box.append(el('pre', { className: 'out-markdown', textContent: result.markdown }));
  // The plain text stands in only when nothing richer came (as Jupyter shows it).
  if (!box.childElementCount && result.text !== undefined) box.append(el('pre', { className: 'out-text', textContent: result.text }));
  return box;
}

// ---- charts, drawn from `result.chart` -----------------------------------------------------

const W = 360;
const H = 240;
const PAD = 36;
const COLOURS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1'];

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawChart(chart) {
  if (chart.type === 'superchart') {
    const group = el('div', { className: 'out-superchart' });
    group.append(...chart.elements.map(drawChart));
    return group;
  }
  const root = svg('svg', { class: 'out-chart', viewBox: `0 0 ${W} ${H}`, width: W, height: H, 'data-chart-type': chart.type });
  root.append(svg('rect', { width: W, height: H, fill: '#fff' }));
  root.append(svg('text', { x: W / 2, y: 16, 'text-anchor': 'middle', 'font-weight': 'bold' }, chart.title ?? ''));
  const draw = { line: drawPoints, scatter: drawPoints, bar: drawBars, pie: drawPie, box_and_whisker: drawBoxes }[chart.type];
  if (draw) draw(root, chart);
  else root.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, `(${chart.type} chart)`));
  return root;
}

// A linear map of [lo, hi] onto [from, to] (a flat range maps to the middle).
function scale(lo, hi, from, to) {
  return (v) => (hi === lo ? (from + to) / 2 : from + ((v - lo) / (hi - lo)) * (to - from));
}

function axes(root, chart) {
  root.append(svg('line', { x1: PAD, y1: H - PAD, x2: W - 8, y2: H - PAD, stroke: '#333' }));
  root.append(svg('line', { x1: PAD, y1: 24, x2: PAD, y2: H - PAD, stroke: '#333' }));
  root.append(svg('text', { x: W / 2, y: H - 6, 'text-anchor': 'middle', 'font-size': 11 }, chart.x_label ?? ''));
  root.append(svg('text', { x: 10, y: H / 2, 'font-size': 11, transform: `rotate(-90 10 ${H / 2})`, 'text-anchor': 'middle' }, chart.y_label ?? ''));
}

function drawPoints(root, chart) {
  axes(root, chart);
  // Non-numeric x values (dates, categories) are placed by their index.
  const series = chart.elements.map((e) => e.points.map(([x, y], i) => [typeof x === 'number' ? x : i, Number(y)]));
  const all = series.flat();
  const sx = scale(Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0])), PAD + 4, W - 12);
  const sy = scale(Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1])), H - PAD - 4, 28);
  series.forEach((points, i) => {
    const colour = COLOURS[i % COLOURS.length];
    if (chart.type === 'line') {
      root.append(svg('polyline', { class: 'series', points: points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(' '), fill: 'none', stroke: colour, 'stroke-width': 2 }));
    } else {
      for (const [x, y] of points) root.append(svg('circle', { class: 'series', cx: sx(x), cy: sy(y), r: 3, fill: colour }));
    }
    root.append(svg('text', { x: W - 12, y: 32 + i * 14, 'text-anchor': 'end', 'font-size': 11, fill: colour }, chart.elements[i].label ?? ''));
  });
}

function drawBars(root, chart) {
  axes(root, chart);
  const values = chart.elements.map((e) => Number(e.value));
  const sy = scale(Math.min(0, ...values), Math.max(0, ...values), H - PAD, 28);
  const width = (W - PAD - 12) / Math.max(1, values.length);
  const groups = [...new Set(chart.elements.map((e) => e.group))];
  chart.elements.forEach((e, i) => {
    const x = PAD + 4 + i * width;
    const top = Math.min(sy(values[i]), sy(0));
    root.append(svg('rect', { class: 'series', x, y: top, width: width * 0.8, height: Math.abs(sy(values[i]) - sy(0)), fill: COLOURS[groups.indexOf(e.group) % COLOURS.length] }));
    root.append(svg('text', { x: x + width * 0.4, y: H - PAD + 12, 'text-anchor': 'middle', 'font-size': 10 }, e.label ?? ''));
  });
}

function drawPie(root, chart) {
  const cx = W / 2;
  const cy = H / 2 + 8;
  const r = Math.min(W, H) / 2 - 30;
  let start = 0;
  chart.elements.forEach((e, i) => {
    const end = start + (Number(e.angle) * Math.PI) / 180;
    const point = (a) => `${cx + r * Math.cos(a)},${cy - r * Math.sin(a)}`;
    const large = end - start > Math.PI ? 1 : 0;
    root.append(svg('path', { class: 'series', d: `M${cx},${cy} L${point(start)} A${r},${r} 0 ${large} 0 ${point(end)} Z`, fill: COLOURS[i % COLOURS.length] }));
    const mid = (start + end) / 2;
    root.append(svg('text', { x: cx + (r + 14) * Math.cos(mid), y: cy - (r + 14) * Math.sin(mid), 'text-anchor': 'middle', 'font-size': 11 }, e.label ?? ''));
    start = end;
  });
}

function drawBoxes(root, chart) {
  axes(root, chart);
  const values = chart.elements.flatMap((e) => [e.min, e.max, ...(e.outliers ?? [])].map(Number));
  const sy = scale(Math.min(...values), Math.max(...values), H - PAD - 4, 28);
  const width = (W - PAD - 12) / Math.max(1, chart.elements.length);
  chart.elements.forEach((e, i) => {
    const x = PAD + 4 + i * width + width * 0.2;
    const w = width * 0.6;
    const mid = x + w / 2;
    root.append(svg('line', { x1: mid, y1: sy(e.min), x2: mid, y2: sy(e.max), stroke: '#333' }));
    root.append(svg('rect', { class: 'series', x, y: sy(e.third_quartile), width: w, height: Math.max(1, sy(e.first_quartile) - sy(e.third_quartile)), fill: COLOURS[i % COLOURS.length] }));
    root.append(svg('line', { x1: x, y1: sy(e.median), x2: x + w, y2: sy(e.median), stroke: '#000', 'stroke-width': 2 }));
    for (const o of e.outliers ?? []) root.append(svg('circle', { cx: mid, cy: sy(o), r: 2, fill: 'none', stroke: '#333' }));
    root.append(svg('text', { x: mid, y: H - PAD + 12, 'text-anchor': 'middle', 'font-size': 10 }, e.label ?? ''));
  });
}
