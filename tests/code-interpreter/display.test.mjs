// Rich results of the code-interpreter-v1 template through the official @e2b/code-interpreter
// SDK (pinned 2.8) and ours (e2b-wasm/code-interpreter), the same body for both, against a real
// sandboxd: images (matplotlib and PIL, checked as decoded PNG), HTML, Markdown, LaTeX, JSON,
// SVG, JavaScript, PDF and unknown MIME types, a pandas DataFrame as `data`, matplotlib figures
// as `chart` for each chart type E2B extracts; and hostile cells that publish malformed or huge
// display data, after which the stream is still JSON lines and the next cell runs.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { implementations, sandboxPerImplementation } from './implementations.mjs';
import { rawExecute } from './util.mjs';

// The SDK's ChartType values (its enum is a type only, not exported at run time).
const ChartType = {
  LINE: 'line',
  SCATTER: 'scatter',
  BAR: 'bar',
  PIE: 'pie',
  BOX_AND_WHISKER: 'box_and_whisker',
  SUPERCHART: 'superchart',
};

/** One sandbox per implementation. */
const sandboxes = sandboxPerImplementation();

/** Width and height of a base64 PNG, after checking its signature and IHDR chunk. */
function pngSize(base64) {
  assert.equal(typeof base64, 'string', 'no PNG in the result');
  const png = Buffer.from(base64, 'base64');
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(png.subarray(12, 16).toString('latin1'), 'IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20), bytes: png.length };
}

for (const [name] of implementations) {
  describe(name, () => {
    let sbx;
    before(() => {
      sbx = sandboxes.get(name);
    });

    /** runCode that must not fail; returns the execution. */
    async function run(code) {
      const execution = await sbx.runCode(code);
      assert.equal(execution.error, undefined, `${code}\n→ ${execution.error?.traceback}`);
      return execution;
    }

    /** The chart of the one result of a cell that shows one matplotlib figure. */
    async function chartOf(code) {
      const { results, logs } = await run(`import matplotlib.pyplot as plt\n${code}\nplt.show()`);
      // e2b-charts' warnings must not leak into the user's stderr.
      assert.deepEqual(logs.stderr, []);
      assert.equal(results.length, 1);
      pngSize(results[0].png);
      return results[0].chart;
    }

    describe('images', () => {
      test('a matplotlib figure comes as a PNG of its size, beside its chart and text', async () => {
        const { results } = await run(
          'import matplotlib.pyplot as plt\nplt.figure(figsize=(4, 3), dpi=100)\nplt.plot([1, 2, 3], [2, 4, 1])\nplt.show()',
        );
        assert.equal(results.length, 1);
        const [figure] = results;
        assert.equal(figure.isMainResult, false);
        const { width, height, bytes } = pngSize(figure.png);
        // The inline backend crops to the drawn area ("tight"): near 400×300, never more.
        assert.ok(width > 300 && width <= 400 && height > 200 && height <= 300, `${width}×${height}`);
        assert.ok(bytes > 1000);
        assert.equal(figure.text, '<Figure size 400x300 with 1 Axes>');
        assert.equal(figure.chart.type, ChartType.LINE);
        // The SDK's formats(): named formats but text and chart, then `extra`'s keys.
        assert.deepEqual(figure.formats(), ['png']);
      });

      test('a PIL image as the value, shown and saved, comes as PNG', async () => {
        const value = await run('from PIL import Image\nimg = Image.new("RGB", (32, 16), "red")\nimg');
        assert.equal(value.results.length, 1);
        assert.equal(value.results[0].isMainResult, true);
        const size = pngSize(value.results[0].png);
        assert.deepEqual([size.width, size.height], [32, 16]);

        // show() has no viewer to start: the image is displayed in the cell instead.
        const shown = await run('img.resize((8, 4)).show()');
        assert.equal(shown.results.length, 1);
        assert.equal(shown.results[0].isMainResult, false);
        assert.equal(pngSize(shown.results[0].png).width, 8);

        // save() to a path writes the file and displays what was saved.
        const saved = await run('img.save("/tmp/saved.png")\nimport os\nos.path.getsize("/tmp/saved.png") > 0');
        assert.equal(saved.results.length, 2);
        assert.equal(pngSize(saved.results[0].png).height, 16);
        assert.equal(saved.text, 'True');
      });
    });

    describe('display formats', () => {
      test('HTML, Markdown, LaTeX, JSON, SVG, JavaScript and PDF land in their own fields', async () => {
        const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>';
        const { results } = await run(
          [
            'from IPython.display import display, HTML, Markdown, Latex, JSON, SVG, Javascript',
            'from IPython.display import publish_display_data',
            'display(HTML("<i>it</i>"))',
            'display(Markdown("**strong**"))',
            'display(Latex(r"$\\frac{1}{2}$"))',
            'display(JSON({"a": [1, 2], "b": None}))',
            `display(SVG('${svg}'))`,
            'display(Javascript("console.log(1)"))',
            'publish_display_data({"application/pdf": "JVBERi0xLjQK", "text/plain": "a pdf"})',
          ].join('\n'),
        );
        assert.equal(results.length, 7);
        const [html, markdown, latex, json, image, script, pdf] = results;
        assert.ok(results.every((r) => r.isMainResult === false));
        assert.equal(html.html, '<i>it</i>');
        assert.equal(markdown.markdown, '**strong**');
        assert.equal(latex.latex, '$\\frac{1}{2}$');
        assert.deepEqual(json.json, { a: [1, 2], b: null });
        assert.equal(image.svg, svg);
        assert.equal(script.javascript, 'console.log(1)');
        assert.equal(pdf.pdf, 'JVBERi0xLjQK');
        assert.equal(pdf.text, 'a pdf');
        assert.deepEqual(
          results.map((r) => r.formats()),
          [['html'], ['markdown'], ['latex'], ['json'], ['svg'], ['javascript'], ['pdf']],
        );
      });

      test('sympy expressions come as LaTeX', async () => {
        const { results } = await run('import sympy\nsympy.init_printing()\nx = sympy.symbols("x")\nsympy.Integral(x**2, x)');
        assert.equal(results.length, 1);
        assert.equal(results[0].latex, '$\\displaystyle \\int x^{2}\\, dx$');
      });

      test('a plain dict or list result also has JSON, numpy values included', async () => {
        const { results } = await run('import numpy as np\n{"n": np.int64(3), "v": np.arange(3), 4: "int key"}');
        assert.deepEqual(results[0].json, { n: 3, v: [0, 1, 2], 4: 'int key' });
        assert.deepEqual(results[0].formats(), ['json']);
      });

      test('an unknown MIME type is kept under extra', async () => {
        const { results } = await run(
          'from IPython.display import publish_display_data\npublish_display_data({"application/x-custom": {"k": 1}, "text/plain": "custom"})',
        );
        assert.equal(results[0].text, 'custom');
        assert.deepEqual(results[0].raw.extra, { 'application/x-custom': { k: 1 } });
      });
    });

    describe('pandas', () => {
      test('a DataFrame result has its columns and values as data, and its HTML table', async () => {
        const { results } = await run(
          [
            'import pandas as pd',
            'pd.DataFrame({',
            '    "name": ["ada", "bob"],',
            '    "age": [36, 41],',
            '    "score": [0.5, float("nan")],',
            '    "joined": pd.to_datetime(["2020-01-02", "2021-03-04"]),',
            '})',
          ].join('\n'),
        );
        assert.equal(results.length, 1);
        const [frame] = results;
        assert.equal(frame.isMainResult, true);
        // NaN is not JSON: it comes as null; timestamps come as ISO strings.
        assert.deepEqual(frame.data, {
          name: ['ada', 'bob'],
          age: [36, 41],
          score: [0.5, null],
          joined: ['2020-01-02T00:00:00', '2021-03-04T00:00:00'],
        });
        assert.match(frame.html, /<table[^>]*class="dataframe"/);
        assert.match(frame.html, /<td>ada<\/td>/);
        assert.match(frame.text, /ada\s+36\s+0\.5/);
        assert.deepEqual(frame.formats(), ['html', 'data']);
      });

      test('a Series or a number has no data; the formatter is not a pandas import', async () => {
        assert.equal((await run('import pandas as pd\npd.Series([1, 2])')).results[0].data, undefined);
        const context = await sbx.createCodeContext();
        const fresh = await sbx.runCode('1 + 1\n', { context });
        assert.equal(fresh.text, '2');
        assert.equal((await sbx.runCode('import sys\n"pandas" in sys.modules', { context })).text, 'False');
        await sbx.removeCodeContext(context);
      });
    });

    describe('charts', () => {
      test('line: title, axis labels and units, one element per line with its points', async () => {
        const chart = await chartOf(
          [
            'fig, ax = plt.subplots()',
            'ax.plot([1, 2, 3], [1, 4, 9], label="squares")',
            'ax.plot([1, 2, 3], [1, 2, 3], label="linear")',
            'ax.set_title("Growth"); ax.set_xlabel("time [s]"); ax.set_ylabel("distance [m]")',
          ].join('\n'),
        );
        assert.equal(chart.type, ChartType.LINE);
        assert.equal(chart.title, 'Growth');
        assert.equal(chart.x_label, 'time [s]');
        assert.equal(chart.y_label, 'distance [m]');
        assert.equal(chart.x_unit, 's');
        assert.equal(chart.y_unit, 'm');
        assert.equal(chart.x_scale, 'linear');
        assert.equal(chart.x_ticks.length, chart.x_tick_labels.length);
        assert.deepEqual(chart.elements, [
          { label: 'squares', points: [[1, 1], [2, 4], [3, 9]] },
          { label: 'linear', points: [[1, 1], [2, 2], [3, 3]] },
        ]);
      });

      test('scatter: one element per series with its points', async () => {
        const chart = await chartOf(
          'fig, ax = plt.subplots()\nax.scatter([1, 2, 3], [3, 2, 1], label="pts")\nax.scatter([4, 5], [6, 7], label="more")\nax.set_title("Dots")',
        );
        assert.equal(chart.type, ChartType.SCATTER);
        assert.equal(chart.title, 'Dots');
        assert.deepEqual(chart.elements, [
          { label: 'pts', points: [[1, 3], [2, 2], [3, 1]] },
          { label: 'more', points: [[4, 6], [5, 7]] },
        ]);
      });

      test('bar: one element per bar with its label, group and value', async () => {
        const chart = await chartOf(
          'fig, ax = plt.subplots()\nax.bar(["a", "b", "c"], [3, 5, 7], label="sales")\nax.set_title("Sales"); ax.set_xlabel("product"); ax.set_ylabel("units")',
        );
        assert.equal(chart.type, ChartType.BAR);
        assert.equal(chart.title, 'Sales');
        assert.equal(chart.x_label, 'product');
        assert.equal(chart.y_label, 'units');
        assert.deepEqual(chart.elements, [
          { label: 'a', group: 'sales', value: 3 },
          { label: 'b', group: 'sales', value: 5 },
          { label: 'c', group: 'sales', value: 7 },
        ]);
      });

      test('pie: one element per wedge with its angle', async () => {
        const chart = await chartOf('fig, ax = plt.subplots()\nax.pie([30, 70], labels=["cats", "dogs"])\nax.set_title("Pets")');
        assert.equal(chart.type, ChartType.PIE);
        assert.equal(chart.title, 'Pets');
        assert.deepEqual(chart.elements, [
          { label: 'cats', angle: 108, radius: 1 },
          { label: 'dogs', angle: 252, radius: 1 },
        ]);
      });

      test('box and whisker: quartiles, whiskers and outliers per box', async () => {
        const chart = await chartOf(
          [
            'fig, ax = plt.subplots()',
            'ax.boxplot([[85, 90, 78, 92, 88], [95, 89, 76, 91, 84, 87, 40]], tick_labels=["A", "B"], patch_artist=True)',
            'ax.set_title("Scores"); ax.set_ylabel("score")',
          ].join('\n'),
        );
        assert.equal(chart.type, ChartType.BOX_AND_WHISKER);
        assert.equal(chart.title, 'Scores');
        assert.equal(chart.y_label, 'score');
        assert.deepEqual(chart.elements, [
          { label: 'A', min: 78, first_quartile: 85, median: 88, third_quartile: 90, max: 92, outliers: [] },
          { label: 'B', min: 76, first_quartile: 80, median: 87, third_quartile: 90, max: 95, outliers: [40] },
        ]);
      });

      test('a figure with subplots is a superchart of its charts', async () => {
        const chart = await chartOf(
          [
            'fig, (left, right) = plt.subplots(1, 2)',
            'fig.suptitle("Both")',
            'left.plot([1, 2], [3, 4], label="up"); left.set_title("left")',
            'right.bar(["x", "y"], [1, 2]); right.set_title("right")',
          ].join('\n'),
        );
        assert.equal(chart.type, ChartType.SUPERCHART);
        assert.equal(chart.title, 'Both');
        assert.equal(chart.elements.length, 2);
        const [line, bar] = chart.elements;
        assert.equal(line.type, ChartType.LINE);
        assert.equal(line.title, 'left');
        assert.deepEqual(line.elements, [{ label: 'up', points: [[1, 3], [2, 4]] }]);
        assert.equal(bar.type, ChartType.BAR);
        assert.equal(bar.title, 'right');
        assert.deepEqual(
          bar.elements.map(({ label, value }) => [label, value]),
          [['x', 1], ['y', 2]],
        );
      });

      test('a figure e2b-charts cannot read still comes as its PNG, without a chart', async () => {
        const { results } = await run(
          'import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.imshow([[0, 1], [1, 0]])\nplt.show()',
        );
        assert.equal(results.length, 1);
        pngSize(results[0].png);
        assert.ok(results[0].chart === undefined || results[0].chart.type === 'unknown', JSON.stringify(results[0].chart));
      });
    });
  });
}

// The hostile cells are about the server (raw requests, the stream's bytes): they run once, on
// the official SDK's sandbox.
describe('hostile cells', () => {
  let sbx;
  before(() => {
    sbx = sandboxes.get(implementations[0][0]);
  });

  /** POST /execute as the SDK does; every line must be a JSON object with a type. */
  async function rawLines(code) {
    const res = await rawExecute(sbx, code, { 'X-Access-Token': sbx.envdAccessToken ?? '' });
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    const text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    assert.ok(text.endsWith('\n'));
    const lines = text.slice(0, -1).split('\n').map((line) => JSON.parse(line));
    assert.ok(lines.every((line) => typeof line.type === 'string'));
    assert.equal(lines.filter((l) => l.type !== 'keepalive').at(-1).type, 'end_of_execution');
    return { lines: lines.filter((l) => l.type !== 'keepalive'), bytes: body.length };
  }

  async function nextCellRuns() {
    assert.equal((await sbx.runCode('21 * 2')).text, '42');
  }

  test('a 40 MiB display payload arrives whole', async () => {
    const { lines, bytes } = await rawLines(
      'from IPython.display import publish_display_data\npublish_display_data({"text/plain": "x" * (40 << 20)})',
    );
    const result = lines.find((l) => l.type === 'result');
    assert.equal(result.text.length, 40 << 20);
    assert.ok(bytes > 40 << 20);
    await nextCellRuns();
  });

  test('a MIME bundle with 10k keys: the named ones are fields, the rest under extra', async () => {
    const { lines } = await rawLines(
      'from IPython.display import publish_display_data\npublish_display_data({**{f"x-app/k{i}": i for i in range(10000)}, "text/html": "<p>"})',
    );
    const result = lines.find((l) => l.type === 'result');
    assert.equal(result.html, '<p>');
    assert.equal(Object.keys(result.extra).length, 10000);
    assert.equal(result.extra['x-app/k9999'], 9999);
    await nextCellRuns();
  });

  test('invalid UTF-8 (lone surrogates), NaN and wrongly typed bundles do not break the stream', async () => {
    const { lines } = await rawLines(
      [
        'import sys',
        'from IPython.display import publish_display_data',
        'publish_display_data({"text/plain": "bad \\udcff byte"})',
        'publish_display_data({"application/json": {"nan": float("nan")}, "text/plain": "with nan"})',
        'publish_display_data({"text/plain": 12, "text/html": "typed wrong"})',
        'sys.stdout.write("after \\udcfe\\n")',
        'print("still printing")',
      ].join('\n'),
    );
    // Invalid UTF-8 is replaced, and what was printed with it is kept.
    const stdout = lines.filter((l) => l.type === 'stdout').map((l) => l.text).join('');
    assert.equal(stdout, 'after \uFFFD\nstill printing\n');
    const results = lines.filter((l) => l.type === 'result');
    assert.deepEqual(results.map((r) => r.text), ['bad \uFFFD byte', 'with nan']);
    // NaN is not JSON: the kernel side sends it as null.
    assert.deepEqual(results[1].json, { nan: null });
    // The bundle whose text/plain is not text is dropped (logged by the server), not passed on.
    assert.ok(!results.some((r) => r.html === 'typed wrong'));
    assert.ok(!lines.some((l) => l.type === 'error'), JSON.stringify(lines));
    await nextCellRuns();
  });
});
