/**
 * Runs notebooks headless with the project's Deno kernel.
 *
 * {@linkcode runNotebook} checks a notebook's code (syntax, imports), then
 * executes it top to bottom through nbclient (`lib/jupyter/run_notebook.py`
 * in the project venv) with the kernelspec in `kernels/deno`, and writes the
 * executed copy, an HTML export and a report fragment. Outputs published just
 * after a cell's `idle` are kept (see run_notebook.py), a failing cell is
 * reported with its index, source and error, and the kernel's peak memory is
 * measured.
 * @module
 */
import { basename, join, resolve } from "node:path";
import { existsSync } from "node:fs";
import { outDir, ROOT } from "../config/mod.ts";
import { checkNotebook, type CheckProblem } from "./check.ts";
import { paramsToEnv } from "./params.ts";

/** The project venv's Python, which has nbclient and nbconvert. */
export const PYTHON: string = join(ROOT, ".venv", "bin", "python");
/** The folder put on `JUPYTER_PATH` so that `kernels/deno` is the `deno` kernel. */
export const JUPYTER_DIR: string = ROOT;
const RUNNER_PY = join(ROOT, "lib", "jupyter", "run_notebook.py");

/** Options of {@linkcode runNotebook}. */
export interface RunOptions {
  /** Folder for the executed copy and the HTML files. Default: `outDir("notebooks")`. */
  outDir?: string;
  /** Per-cell time limit in seconds. Default: 1800. */
  timeout?: number;
  /** Parameter overrides, `NAME=VALUE` each (read in notebooks with `param()`). */
  params?: string[];
  /** Extra environment variables for the kernel (e.g. `ACMC_DATA`, `ACMC_OUT`). */
  env?: Record<string, string>;
  /** How long to keep reading outputs after each cell's idle, ms. Default: 250. */
  graceMs?: number;
  /** Check syntax and imports before running. Default: true. */
  check?: boolean;
  /**
   * Progress: `true` prints to stderr (a line updated in place on a TTY,
   * one line per cell otherwise), `false` is silent, a function gets events.
   * Default: true.
   */
  progress?: boolean | ((event: ProgressEvent) => void);
  /** Label shown in progress lines (default: the notebook's name). */
  label?: string;
}

/** A progress event of a run. */
export type ProgressEvent =
  | { event: "check"; name: string }
  | { event: "start"; name: string; codeCells: number }
  | { event: "cell"; name: string; index: number; k: number; n: number; elapsed: number }
  | { event: "done"; name: string; run: NotebookRun };

/** Where and why a notebook failed. */
export interface NotebookFailure {
  /** Index of the failing cell (0-based, markdown cells counted), null if unknown. */
  cell: number | null;
  /** Error name (`Error`, `TypeError`, `SyntaxError`, `CellTimeoutError`...). */
  ename: string;
  /** Error message. */
  evalue: string;
  /** Traceback lines (colour codes removed). */
  traceback: string[];
  /** The first lines of the cell's source. */
  source: string;
}

/** What a run did; also saved as `<outDir>/<name>.run.json`. */
export interface NotebookRun {
  /** Notebook name, the file name without `.ipynb`. */
  name: string;
  /** Absolute path of the notebook run. */
  notebook: string;
  ok: boolean;
  /** Wall time of the execution (kernel start included), seconds. */
  seconds: number;
  /** Peak resident memory of the kernel's process tree, bytes (0 if unknown). */
  peakRss: number;
  /** Number of code cells and how many were executed. */
  codeCells: number;
  executedCells: number;
  /** Outputs that arrived after a cell's idle and were kept. */
  lateOutputs: number;
  /** Executed copy, HTML export and report fragment. */
  ipynb: string;
  html: string;
  fragment: string;
  /** When it ended (ISO 8601). */
  finishedAt: string;
  /** Parameter overrides used. */
  params: string[];
  /** Set when `ok` is false. */
  failure?: NotebookFailure;
}

/** Thrown by {@linkcode runNotebookOrThrow}; `message` says cell, source and error. */
export class NotebookError extends Error {
  constructor(readonly run: NotebookRun) {
    super(formatFailure(run));
    this.name = "NotebookError";
  }
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** A readable report of a failed run: notebook, cell, error, source excerpt, traceback. */
export function formatFailure(run: NotebookRun): string {
  const f = run.failure;
  if (!f) return `${run.name}: ok`;
  const where = f.cell === null ? "" : ` in cell ${f.cell}`;
  const lines = [`notebook ${run.notebook} failed${where}: ${f.ename}: ${f.evalue}`];
  if (f.source) lines.push("", "cell source:", ...f.source.split("\n").map((l) => `  | ${l}`));
  const tb = f.traceback.join("\n").trim();
  if (tb && tb !== `${f.ename}: ${f.evalue}`) lines.push("", "traceback:", tb);
  return lines.join("\n");
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/**
 * The default progress printer: one line per notebook updated in place on a
 * TTY; otherwise a line per cell, and a "still running" line every
 * `everyS` seconds (default 60) during a long cell.
 */
export function progressPrinter(everyS = 60): (e: ProgressEvent) => void {
  const tty = Deno.stderr.isTerminal();
  let cellStarted = 0;
  const enc = new TextEncoder();
  const write = (s: string) => Deno.stderr.writeSync(enc.encode(s));
  let timer: ReturnType<typeof setInterval> | undefined;
  let line = "";
  let started = 0;
  const redraw = () => write(`\r\x1b[K${line} ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return (e) => {
    if (e.event === "check") {
      if (!tty) write(`[${e.name}] checking syntax and imports\n`);
    } else if (e.event === "start") {
      started = Date.now();
      line = `[${e.name}] starting kernel`;
      if (tty) timer ??= setInterval(redraw, 500);
      else {
        write(`[${e.name}] ${e.codeCells} code cells\n`);
        timer ??= setInterval(() => {
          const s = (Date.now() - cellStarted) / 1000;
          if (cellStarted && s >= everyS) {
            write(
              `${line} still running: ${s.toFixed(0)} s in this cell, ` +
                `${((Date.now() - started) / 1000).toFixed(0)} s in all\n`,
            );
          }
        }, everyS * 1000);
      }
    } else if (e.event === "cell") {
      line = `[${e.name}] cell ${e.k}/${e.n} (#${e.index})`;
      cellStarted = Date.now();
      if (tty) redraw();
      else write(`${line} at ${e.elapsed.toFixed(1)} s\n`);
    } else {
      clearInterval(timer);
      timer = undefined;
      const r = e.run;
      const status = r.ok
        ? `ok: ${r.executedCells} cells in ${r.seconds.toFixed(1)} s, peak ${mib(r.peakRss)}`
        : `FAILED${r.failure?.cell != null ? ` in cell ${r.failure.cell}` : ""}: ${
          r.failure?.ename ?? ""
        }: ${(r.failure?.evalue ?? "").split("\n")[0]}`;
      write(`${tty ? "\r\x1b[K" : ""}[${e.name}] ${status}\n`);
    }
  };
}

/** The environment the runner gives nbclient (and so the kernel). */
export function kernelEnv(extra: Record<string, string> = {}): Record<string, string> {
  const base = Deno.env.toObject();
  const jp = base.JUPYTER_PATH ? `${JUPYTER_DIR}:${base.JUPYTER_PATH}` : JUPYTER_DIR;
  return {
    ...base,
    JUPYTER_PATH: jp,
    JUPYTER_PLATFORM_DIRS: "1",
    PYTHONUNBUFFERED: "1",
    NO_COLOR: "1",
    ...extra,
  };
}

function checkFailure(problems: CheckProblem[], nb: string): NotebookFailure {
  const p = problems[0];
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : "";
  return {
    cell: p.cell,
    ename: "CheckError",
    evalue: `${p.message}${more}`,
    traceback: problems.map((q) =>
      `${q.cell === null ? nb : `cell ${q.cell}, line ${q.line}`}: ${q.message}`
    ),
    source: p.excerpt ?? "",
  };
}

/**
 * Executes notebook `path` top to bottom and returns what happened (it does
 * not throw when a cell fails: see `ok` and `failure`, or use
 * {@linkcode runNotebookOrThrow}).
 *
 * @example
 * ```ts
 * const run = await runNotebook("notebooks/01-images.ipynb", { params: ["seed=1"] });
 * if (!run.ok) console.error(formatFailure(run));
 * ```
 */
export async function runNotebook(path: string, options: RunOptions = {}): Promise<NotebookRun> {
  const notebook = resolve(path);
  const name = basename(notebook, ".ipynb");
  const label = options.label ?? name;
  const out = resolve(options.outDir ?? outDir("notebooks"));
  const report = options.progress === false
    ? () => {}
    : typeof options.progress === "function"
    ? options.progress
    : progressPrinter();
  const params = options.params ?? [];
  const run: NotebookRun = {
    name,
    notebook,
    ok: false,
    seconds: 0,
    peakRss: 0,
    codeCells: 0,
    executedCells: 0,
    lateOutputs: 0,
    ipynb: join(out, `${name}.ipynb`),
    html: join(out, `${name}.html`),
    fragment: join(out, `${name}.fragment.html`),
    finishedAt: "",
    params,
  };
  if (!existsSync(notebook)) throw new Error(`notebook not found: ${notebook}`);
  if (!existsSync(PYTHON)) {
    throw new Error(`${PYTHON} is missing: run 'bash tools/setup.sh venv' in ${ROOT}`);
  }
  const paramEnv = paramsToEnv(params);
  await Deno.mkdir(out, { recursive: true });
  const finish = async () => {
    run.finishedAt = new Date().toISOString();
    await Deno.writeTextFile(join(out, `${name}.run.json`), JSON.stringify(run, null, 2));
    report({ event: "done", name: label, run });
    return run;
  };

  if (options.check ?? true) {
    report({ event: "check", name: label });
    const problems = await checkNotebook(notebook);
    if (problems.length) {
      run.failure = checkFailure(problems, notebook);
      return await finish();
    }
  }

  const child = new Deno.Command(PYTHON, {
    args: [
      RUNNER_PY,
      "--notebook",
      notebook,
      "--out-ipynb",
      run.ipynb,
      "--out-html",
      run.html,
      "--out-fragment",
      run.fragment,
      "--timeout",
      String(options.timeout ?? 1800),
      "--grace-ms",
      String(options.graceMs ?? 250),
    ],
    env: kernelEnv({ ...paramEnv, ...options.env }),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderrText = new Response(child.stderr).text();
  const t0 = performance.now();
  let buffered = "";
  const errors: NotebookFailure[] = [];
  let done: Record<string, unknown> | undefined;
  const dec = new TextDecoder();
  const handle = (line: string) => {
    if (!line.trim()) return;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line);
    } catch {
      return; // not ours (a library printing to stdout)
    }
    if (e.event === "start") {
      run.codeCells = Number(e.code_cells);
      report({ event: "start", name: label, codeCells: run.codeCells });
    } else if (e.event === "cell") {
      report({
        event: "cell",
        name: label,
        index: Number(e.index),
        k: Number(e.k),
        n: Number(e.n),
        elapsed: (performance.now() - t0) / 1000,
      });
    } else if (e.event === "error") {
      errors.push({
        cell: e.index === null || e.index === undefined ? null : Number(e.index),
        ename: String(e.ename ?? ""),
        evalue: String(e.evalue ?? "").replace(ANSI, ""),
        traceback: ((e.traceback as string[]) ?? []).map((l) => String(l).replace(ANSI, "")),
        source: String(e.source ?? ""),
      });
    } else if (e.event === "done") {
      done = e;
    }
  };
  for await (const chunk of child.stdout) {
    buffered += dec.decode(chunk, { stream: true });
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      handle(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  }
  handle(buffered);
  const status = await child.status;
  const stderr = await stderrText;
  run.seconds = (performance.now() - t0) / 1000;
  if (done) {
    run.peakRss = Number(done.peak_rss);
    run.lateOutputs = Number(done.late_outputs);
    run.executedCells = Number(done.executed_cells);
    run.ok = Boolean(done.ok) && status.success;
  }
  if (errors.length) run.failure = errors[0];
  else if (!run.ok) {
    run.failure = {
      cell: null,
      ename: "RunnerError",
      evalue: `the notebook runner exited with code ${status.code}`,
      traceback: stderr.trim().split("\n").slice(-30),
      source: "",
    };
  }
  if (run.failure && run.failure.evalue === "Execution failed" && !run.failure.traceback.length) {
    run.failure.evalue += " (the Deno kernel gives no detail: an error thrown outside the cell's" +
      " promise chain, or a problem the static check missed)";
  }
  return await finish();
}

/** Like {@linkcode runNotebook}, but throws a {@linkcode NotebookError} when the notebook fails. */
export async function runNotebookOrThrow(
  path: string,
  options: RunOptions = {},
): Promise<NotebookRun> {
  const run = await runNotebook(path, options);
  if (!run.ok) throw new NotebookError(run);
  return run;
}
