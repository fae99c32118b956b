// What the example pages (index.html, code-interpreter.html) share: where a page gets its
// sandbox options, its status line, and window.example, which tells a test (or you) how the
// page's run went.
export const $ = (id) => document.getElementById(id);
export const status = (text) => { $('status').textContent = text; };

/**
 * The SDK's connection options. A sandbox's API key must not be baked into a page: here the
 * server that serves the page hands it out (/config.json), as an app's backend would for the
 * signed-in user.
 */
export async function sandboxOptions() {
  const config = await (await fetch('./config.json')).json();
  return { apiKey: config.apiKey, apiUrl: config.apiUrl, sandboxUrl: config.sandboxUrl };
}

/**
 * Runs `steps(example)`, `example` being window.example, and records there (and shows) how it
 * ended: `error` if it failed, `done` either way.
 */
export function runExample(steps) {
  const example = (window.example = { done: false });
  steps(example)
    .catch((err) => {
      example.error = `${err.name}: ${err.message}`;
      $('errors').textContent = example.error;
      status('failed');
    })
    .finally(() => { example.done = true; });
}
