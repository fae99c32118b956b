// The terminal demo: an xterm.js terminal on a sandbox's PTY, a notebook cell running code in
// the same sandbox, the sandbox's home directory as a live file tree, and a status bar, all
// through the e2b-wasm SDK in the browser. The sandbox is a code-interpreter-v1 one (the
// default template of `e2b-wasm/code-interpreter`), so it has both a shell and a kernel.
import { Sandbox } from 'e2b-wasm/code-interpreter';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';

import { startNotebook } from './notebook.js';

const SANDBOX_TIMEOUT_MS = 5 * 60_000;
// code-interpreter-v1's default user is root, but its kernels run in /home/user: the shell and
// uploads are user's, so that the tree of that home holds what the shell and the code write.
const USER = 'user';
const TREE_DEPTH = 3;
// sessionStorage survives a reload of this tab (not a new tab): a reload reconnects.
const SESSION_KEY = 'e2b-wasm-demo';

const $ = (id) => document.getElementById(id);
const encoder = new TextEncoder();

function showError(err) {
  console.error(err);
  const box = $('errors');
  box.hidden = false;
  box.textContent += `${err?.name ?? 'Error'}: ${err?.message ?? err}\n`;
}
window.addEventListener('error', (e) => showError(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => showError(e.reason));

const term = new Terminal({ cursorBlink: true, fontSize: 14, convertEol: false });
const fit = new FitAddon();
term.loadAddon(fit);
term.open($('terminal'));
fit.fit();
window.demo = { term, ready: false };

async function main() {
  const config = await (await fetch('/config.json')).json();
  const opts = { apiKey: config.apiKey, apiUrl: config.apiUrl, sandboxUrl: config.sandboxUrl };
  const onData = (data) => term.write(data);

  let sandbox;
  let pid;
  let handle;
  const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null');
  if (saved) {
    try {
      sandbox = await Sandbox.connect(saved.sandboxId, opts);
      handle = await sandbox.pty.connect(saved.pid, { onData, timeoutMs: 0 });
      pid = saved.pid;
      term.write('\x1b[2m[reconnected to the same shell]\x1b[0m\r\n');
    } catch (err) {
      // The sandbox timed out or the shell exited: start over (and say why).
      showError(new Error(`could not reconnect to ${saved.sandboxId} (${err.message}); starting a new sandbox`));
      sandbox = undefined;
    }
  }
  if (!sandbox) {
    sandbox = await Sandbox.create({ ...opts, timeoutMs: SANDBOX_TIMEOUT_MS });
    handle = await sandbox.pty.create({ cols: term.cols, rows: term.rows, onData, timeoutMs: 0, user: USER });
    pid = handle.pid;
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ sandboxId: sandbox.sandboxId, pid }));
  }

  // `exit` in the shell: the next load starts a new sandbox instead of reconnecting.
  // (Leaving the page ends the stream too: that is not the shell exiting.)
  let leaving = false;
  window.addEventListener('pagehide', () => { leaving = true; });
  handle.wait().catch(() => {}).then(() => {
    if (leaving) return;
    sessionStorage.removeItem(SESSION_KEY);
    term.write('\r\n\x1b[2m[the shell exited; reload for a new sandbox]\x1b[0m\r\n');
  });

  // Keystrokes go in order: each sendInput starts after the previous one finished.
  let input = Promise.resolve();
  term.onData((data) => {
    input = input.then(() => sandbox.pty.sendInput(pid, encoder.encode(data))).catch(showError);
  });
  term.onResize(({ cols, rows }) => sandbox.pty.resize(pid, { cols, rows }).catch(showError));
  window.addEventListener('resize', () => fit.fit());
  // A reconnected shell may have had another size.
  await sandbox.pty.resize(pid, { cols: term.cols, rows: term.rows });
  term.focus();

  const home = (await sandbox.commands.run('printf %s "$HOME"', { user: USER })).stdout;
  $('home').textContent = home;
  await startFileTree(sandbox, home);
  await startStatusBar(sandbox);
  startNotebook(sandbox, showError);

  Object.assign(window.demo, { sandbox, pid, home, ready: true });
}

async function startFileTree(sandbox, home) {
  const tree = $('tree');
  let refreshing = null;
  let again = false;
  // Events come in bursts (a write is create + writes); one refresh at a time, one more after.
  async function refresh() {
    if (refreshing) {
      again = true;
      return refreshing;
    }
    refreshing = (async () => {
      do {
        again = false;
        const entries = await sandbox.files.list(home, { depth: TREE_DEPTH });
        entries.sort((a, b) => a.path.localeCompare(b.path));
        tree.replaceChildren(...entries.map((entry) => treeItem(sandbox, home, entry)));
      } while (again);
    })().catch(showError).finally(() => { refreshing = null; });
    return refreshing;
  }
  await refresh();
  await sandbox.files.watchDir(home, () => refresh(), { recursive: true, timeoutMs: 0 });

  const panel = $('files');
  panel.addEventListener('dragenter', (e) => { e.preventDefault(); panel.classList.add('dragging'); });
  panel.addEventListener('dragover', (e) => e.preventDefault());
  panel.addEventListener('dragleave', () => panel.classList.remove('dragging'));
  panel.addEventListener('drop', async (e) => {
    e.preventDefault();
    panel.classList.remove('dragging');
    try {
      for (const file of e.dataTransfer.files) await sandbox.files.write(`${home}/${file.name}`, file, { user: USER });
    } catch (err) {
      showError(err);
    }
  });
}

function treeItem(sandbox, home, entry) {
  const li = document.createElement('li');
  const relative = entry.path.slice(home.length + 1);
  const depth = relative.split('/').length - 1;
  li.style.paddingLeft = `${depth * 14}px`;
  li.dataset.path = entry.path;
  if (entry.type === 'dir') {
    li.className = 'dir';
    li.textContent = `${entry.name}/`;
  } else {
    li.className = 'file';
    li.textContent = entry.name;
    li.title = `download ${entry.path}`;
    li.addEventListener('click', () => download(sandbox, entry).catch(showError));
  }
  return li;
}

async function download(sandbox, entry) {
  const blob = await sandbox.files.read(entry.path, { format: 'blob' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = entry.name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

async function startStatusBar(sandbox) {
  $('sandbox-id').textContent = sandbox.sandboxId;
  let endAt = (await sandbox.getInfo()).endAt;
  const timeLeft = $('time-left');
  const tick = () => {
    const s = Math.max(0, Math.round((endAt - Date.now()) / 1000));
    timeLeft.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  };
  tick();
  setInterval(tick, 1000);
  const extend = $('extend');
  extend.disabled = false;
  extend.addEventListener('click', async () => {
    extend.disabled = true;
    try {
      await sandbox.setTimeout(SANDBOX_TIMEOUT_MS);
      endAt = (await sandbox.getInfo()).endAt;
      tick();
    } catch (err) {
      showError(err);
    } finally {
      extend.disabled = false;
    }
  });
}

main().catch(showError);
