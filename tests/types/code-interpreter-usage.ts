// A program written against the official `@e2b/code-interpreter` surface. The types test compiles
// it with `--strict` against `@e2b/code-interpreter` and against `e2b-wasm/code-interpreter`
// (module name `sdk` is mapped to each).
import Default, {
  Sandbox,
  NotFoundError,
  TimeoutError,
  E2B,
  type ChartTypes,
  type Context,
  type Execution,
  type ExecutionError,
  type Logs,
  type OutputMessage,
  type Result,
  type RunCodeOpts,
} from 'sdk';

export async function main(): Promise<string | undefined> {
  const sandbox: Sandbox = await Default.create({ timeoutMs: 60_000 });
  const opts: RunCodeOpts = {
    onStdout: (out: OutputMessage) => console.log(out.line, out.timestamp, out.error),
    onStderr: async (out: OutputMessage) => { console.error(out.line); },
    onResult: (result: Result) => result.formats(),
    onError: (error: ExecutionError) => console.log(error.name, error.value, error.traceback),
    envs: { A: 'b' },
    timeoutMs: 5_000,
    requestTimeoutMs: 1_000,
  };
  const execution: Execution = await sandbox.runCode('1+1', { ...opts, language: 'python' });
  const logs: Logs = execution.logs;
  const count: number | undefined = execution.executionCount;
  const chart: ChartTypes | undefined = execution.results[0]?.chart;
  if (chart?.type === 'pie') console.log(chart.elements.map((slice) => slice.angle));
  const png: string | undefined = execution.results[0]?.png;
  const context: Context = await sandbox.createCodeContext({ cwd: '/tmp', language: 'python' });
  await sandbox.runCode('x', { context });
  const contexts: Context[] = await sandbox.listCodeContexts();
  await sandbox.restartCodeContext(context);
  await sandbox.removeCodeContext(context.id);
  const client = new E2B({ apiKey: 'e2b_key' });
  const bound: Sandbox = await client.Sandbox.create();
  await bound.files.write('/tmp/a', 'b');
  try {
    await sandbox.runCode('1', { context: contexts[0] });
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof TimeoutError) console.log(err.message);
  }
  console.log(logs.stdout, count, png, JSON.stringify(execution.toJSON()));
  return execution.text;
}
