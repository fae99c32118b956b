// The types of `e2b-wasm/code-interpreter`: those of `@e2b/code-interpreter` 2.8 (its result,
// chart and option shapes are type-only exports there too) over everything of `e2b-wasm`.
import { ConnectionOpts, E2B as CoreE2B, Sandbox as CoreSandbox } from './index.js';

export * from './index.js';

declare enum ChartType {
  LINE = 'line',
  SCATTER = 'scatter',
  BAR = 'bar',
  PIE = 'pie',
  BOX_AND_WHISKER = 'box_and_whisker',
  SUPERCHART = 'superchart',
  UNKNOWN = 'unknown',
}
declare enum ScaleType {
  LINEAR = 'linear',
  DATETIME = 'datetime',
  CATEGORICAL = 'categorical',
  LOG = 'log',
  SYMLOG = 'symlog',
  LOGIT = 'logit',
  FUNCTION = 'function',
  FUNCTIONLOG = 'functionlog',
  ASINH = 'asinh',
}
/** A chart extracted from a matplotlib figure. */
type Chart = { type: ChartType; title: string; elements: any[] };
type Chart2D = Chart & { x_label?: string; y_label?: string; x_unit?: string; y_unit?: string };
type PointData = { label: string; points: [number | string, number | string][] };
type PointChart = Chart2D & {
  x_ticks: (number | string)[];
  x_scale: ScaleType;
  x_tick_labels: string[];
  y_ticks: (number | string)[];
  y_scale: ScaleType;
  y_tick_labels: string[];
  elements: PointData[];
};
type LineChart = PointChart & { type: ChartType.LINE };
type ScatterChart = PointChart & { type: ChartType.SCATTER };
type BarData = { label: string; value: string; group: string };
type BarChart = Chart2D & { type: ChartType.BAR; elements: BarData[] };
type PieData = { label: string; angle: number; radius: number };
type PieChart = Chart & { type: ChartType.PIE; elements: PieData[] };
type BoxAndWhiskerData = {
  label: string;
  min: number;
  first_quartile: number;
  median: number;
  third_quartile: number;
  max: number;
  outliers: number[];
};
type BoxAndWhiskerChart = Chart2D & { type: ChartType.BOX_AND_WHISKER; elements: BoxAndWhiskerData[] };
type SuperChart = Chart & { type: ChartType.SUPERCHART; elements: Chart[] };
type ChartTypes = LineChart | ScatterChart | BarChart | PieChart | BoxAndWhiskerChart | SuperChart;

/** One chunk of stdout or stderr, stamped (microseconds) when it arrived. */
declare class OutputMessage {
  readonly line: string;
  readonly timestamp: number;
  readonly error: boolean;
  constructor(line: string, timestamp: number, error: boolean);
  toString(): string;
}
/** An error raised by the executed code. */
declare class ExecutionError {
  name: string;
  value: string;
  traceback: string;
  constructor(name: string, value: string, traceback: string);
}
type MIMEType = string;
type E2BData = { data: Record<string, unknown>; chart: ChartTypes };
type RawData = { [key: MIMEType]: string } & E2BData;
/** One output of a run: the cell's value (`isMainResult`) or display data, in every format sent. */
declare class Result {
  readonly isMainResult: boolean;
  readonly text?: string;
  readonly html?: string;
  readonly markdown?: string;
  readonly svg?: string;
  readonly png?: string;
  readonly jpeg?: string;
  readonly pdf?: string;
  readonly latex?: string;
  readonly json?: string;
  readonly javascript?: string;
  readonly data?: Record<string, unknown>;
  readonly chart?: ChartTypes;
  readonly extra?: any;
  readonly raw: RawData;
  constructor(rawData: RawData, isMainResult: boolean);
  formats(): string[];
  toJSON(): {
    extra?: any;
    text: string | undefined;
    html: string | undefined;
    markdown: string | undefined;
    svg: string | undefined;
    png: string | undefined;
    jpeg: string | undefined;
    pdf: string | undefined;
    latex: string | undefined;
    json: string | undefined;
    javascript: string | undefined;
  };
}
type Logs = { stdout: string[]; stderr: string[] };
/** What one `runCode` produced. */
declare class Execution {
  results: Result[];
  logs: Logs;
  error?: ExecutionError | undefined;
  executionCount?: number | undefined;
  constructor(results?: Result[], logs?: Logs, error?: ExecutionError | undefined, executionCount?: number | undefined);
  get text(): string | undefined;
  toJSON(): { results: Result[]; logs: Logs; error: ExecutionError | undefined };
}

type Context = { id: string; language: string; cwd: string };
type RunCodeLanguage = 'python' | 'javascript' | 'typescript' | 'r' | 'java' | 'bash' | (string & {});
interface RunCodeOpts {
  onStdout?: (output: OutputMessage) => Promise<any> | any;
  onStderr?: (output: OutputMessage) => Promise<any> | any;
  onResult?: (data: Result) => Promise<any> | any;
  onError?: (error: ExecutionError) => Promise<any> | any;
  envs?: Record<string, string>;
  /** The time the whole answer may take (60 s by default; 0 for no limit). */
  timeoutMs?: number;
  requestTimeoutMs?: number;
  /** Aborts the run (not in the official SDK): `runCode` rejects with the signal's reason. */
  signal?: AbortSignal;
}
interface CreateCodeContextOpts {
  cwd?: string;
  language?: RunCodeLanguage;
  requestTimeoutMs?: number;
}

export declare class Sandbox extends CoreSandbox {
  protected static readonly defaultTemplate: string;
  protected get jupyterUrl(): string;
  private getJupyterRequestUrl;
  private get includeDiagnostics();
  runCode(code: string, opts?: RunCodeOpts & { language?: RunCodeLanguage }): Promise<Execution>;
  runCode(code: string, opts?: RunCodeOpts & { context?: Context }): Promise<Execution>;
  createCodeContext(opts?: CreateCodeContextOpts): Promise<Context>;
  removeCodeContext(context: Context | string): Promise<void>;
  listCodeContexts(): Promise<Context[]>;
  restartCodeContext(context: Context | string): Promise<void>;
  private handleRequestError;
}
export default Sandbox;

/** A client whose resource classes have `opts` bound; its `Sandbox` is the code-interpreter one. */
export declare class E2B {
  readonly Sandbox: typeof Sandbox;
  readonly Volume: CoreE2B['Volume'];
  readonly Template: CoreE2B['Template'];
  readonly Secret: CoreE2B['Secret'];
  constructor(opts?: Omit<ConnectionOpts, 'signal'>);
}

export type {
  BarChart, BarData, BoxAndWhiskerChart, BoxAndWhiskerData, Chart, ChartType, ChartTypes, Context,
  CreateCodeContextOpts, Execution, ExecutionError, LineChart, Logs, MIMEType, OutputMessage, PieChart,
  PieData, PointData, RawData, Result, RunCodeLanguage, RunCodeOpts, ScaleType, ScatterChart, SuperChart,
};
