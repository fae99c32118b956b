// A program written against the official `e2b` surface. The types test compiles it with
// `--strict` against `e2b` and against `e2b-wasm` (module name `sdk` is mapped to each).
import Default, {
  CommandExitError,
  CommandHandle,
  CommandResult,
  ConnectionConfig,
  EntryInfo,
  FileType,
  FilesystemEvent,
  FilesystemEventType,
  NotFoundError,
  Sandbox,
  SandboxError,
  SandboxInfo,
  TimeoutError,
  WriteInfo,
  ALL_TRAFFIC,
  GitAuthError,
  waitForPort,
} from 'sdk';

class MySandbox extends Sandbox {
  protected static override readonly defaultTemplate: string = 'my-template';

  hello(): string {
    return `hello from ${this.sandboxId}`;
  }

  // What packages built on e2b (code-interpreter, desktop) use.
  protected get serverUrl(): string {
    return this.connectionConfig.getSandboxDirectUrl(this.sandboxId, { sandboxDomain: this.sandboxDomain, envdPort: 8888 });
  }

  serverHeaders(): Record<string, string> {
    const headers: Record<string, string> = { 'E2b-Sandbox-Id': this.sandboxId };
    if (this.trafficAccessToken) headers['E2B-Traffic-Access-Token'] = this.trafficAccessToken;
    if (this.envdAccessToken) headers['X-Access-Token'] = this.envdAccessToken;
    const signal: AbortSignal | undefined = this.connectionConfig.getSignal(this.connectionConfig.requestTimeoutMs);
    console.log(this.serverUrl, signal);
    return headers;
  }
}

export async function network(): Promise<void> {
  const sbx = await Sandbox.create({
    network: {
      allowOut: ({ rules }) => [...rules.keys()],
      denyOut: ({ allTraffic }) => [allTraffic],
      rules: new Map([['api.github.com', [{ transform: ({ iam }) => ({ headers: { Authorization: `Bearer ${iam.tokens.gh}` } }) }]]]),
      egressProxy: { address: 'proxy:1080' },
    },
    iam: { tokens: { gh: { audience: 'https://github.com', tokenType: 'JWT-SVID' } } },
  });
  await sbx.updateNetwork({ denyOut: [ALL_TRAFFIC], allowInternetAccess: true });
  await Sandbox.connect(sbx.sandboxId, { onResume: 'reboot' });
  try {
    await sbx.git.push('/repo', { remote: 'origin', branch: 'main' });
  } catch (err) {
    if (err instanceof GitAuthError) console.log(err.message);
  }
  const status = await sbx.git.status('/repo');
  const clean: boolean = status.isClean;
  const ready: string = waitForPort(3000).getCmd();
  console.log(clean, ready, sbx.commands.supportsStdinClose);
}

export async function program(signal: AbortSignal): Promise<void> {
  const sbx: MySandbox = await MySandbox.create({ timeoutMs: 60_000, metadata: { app: 'types' } });
  const same: Sandbox = await Default.connect(sbx.sandboxId, { requestTimeoutMs: 5_000 });
  const greeting: string = sbx.hello();

  const result: CommandResult = await sbx.commands.run('echo hi', {
    envs: { A: '1' },
    cwd: '/tmp',
    user: 'root',
    onStdout: (data: string) => console.log(data),
    timeoutMs: 10_000,
    signal,
  });
  const handle: CommandHandle = await sbx.commands.run('sleep 10', { background: true });
  const pid: number = handle.pid;
  const killed: boolean = await handle.kill();
  await sbx.commands.sendStdin(pid, 'input');

  const text: string = await sbx.files.read('/tmp/a.txt');
  const bytes: Uint8Array = await sbx.files.read('/tmp/a.txt', { format: 'bytes' });
  const blob: Blob = await sbx.files.read('/tmp/a.txt', { format: 'blob' });
  const stream: ReadableStream<Uint8Array> = await sbx.files.read('/tmp/a.txt', { format: 'stream' });
  const one: WriteInfo = await sbx.files.write('/tmp/b.txt', 'data');
  const many: WriteInfo[] = await sbx.files.write([{ path: '/tmp/c.txt', data: new Uint8Array(3).buffer }]);
  const entries: EntryInfo[] = await sbx.files.list('/tmp', { depth: 2 });
  const isDir: boolean = entries[0]?.type === FileType.DIR;
  const watcher = await sbx.files.watchDir(
    '/tmp',
    (event: FilesystemEvent) => {
      if (event.type === FilesystemEventType.WRITE) console.log(event.name);
    },
    { recursive: true, onExit: (err?: Error) => console.log(err) },
  );
  await watcher.stop();

  const terminal: CommandHandle = await sbx.pty.create({ cols: 80, rows: 24, onData: (d: Uint8Array) => console.log(d.length) });
  await sbx.pty.sendInput(terminal.pid, new TextEncoder().encode('exit\n'));
  await sbx.pty.resize(terminal.pid, { cols: 100, rows: 30 });

  const paginator = Sandbox.list({ query: { metadata: { app: 'types' }, state: ['running'] }, limit: 10 });
  while (paginator.hasNext) {
    const page: SandboxInfo[] = await paginator.nextItems();
    const started: Date | undefined = page[0]?.startedAt;
    console.log(started);
  }
  const host: string = sbx.getHost(8080);
  const url: string = await sbx.downloadUrl('/tmp/a.txt', { useSignatureExpiration: 60 });
  const config = new ConnectionConfig({ apiKey: 'e2b_00' });
  const running: boolean = await sbx.isRunning();
  const dead: boolean = await sbx.kill();

  try {
    await sbx.commands.run('exit 3');
  } catch (err) {
    if (err instanceof CommandExitError) {
      const code: number = err.exitCode;
      const out: string = err.stdout;
      console.log(code, out);
    } else if (err instanceof TimeoutError || err instanceof NotFoundError || err instanceof SandboxError) {
      console.log(err.message);
    }
  }
  console.log(same, greeting, result, killed, text, bytes, blob, stream, one, many, isDir, host, url, config, running, dead);
}
