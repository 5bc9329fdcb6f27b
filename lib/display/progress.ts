/**
 * Progress of long loops (epochs, image scans, generation): one line updated
 * in place in a notebook, a bar on a terminal, occasional plain lines in logs.
 *
 * The loops themselves (lib/data's `imageSizes`, lib/synth's
 * `generateStandIn`, lib/train's `fit`) only know lib/io's `ProgressReporter`;
 * {@linkcode progressReporter} is this module's. Loading this module installs
 * it as lib/io's default reporter, so whatever imports lib/display (the
 * notebooks through lib/mod.ts, the scripts in tools/) sees progress bars
 * without passing one.
 *
 * @module
 */
import cliProgress from "cli-progress";
import { type Progress, type ProgressReporter, setDefaultProgress } from "../io/mod.ts";
import { inJupyter, publish } from "./jupyter.ts";

export type { Progress };

/** Where a progress bar draws itself. */
export type ProgressMode = "jupyter" | "tty" | "plain" | "silent";

/** Options of {@linkcode progressBar}. */
export interface ProgressOptions {
  /** Number of steps (> 0). */
  total: number;
  /** Label in front of the bar. */
  title?: string;
  /** Default: "jupyter" in the Deno kernel, "tty" when stderr is a terminal, else "plain". */
  mode?: ProgressMode;
  /** Fewest milliseconds between notebook updates (default 250, i.e. at most 4 per second). */
  throttleMs?: number;
  /** Plain mode: fewest milliseconds between lines (default 10 000), besides every 25 %. */
  plainEveryMs?: number;
  /** Plain mode: where lines go (default console.log). */
  log?: (line: string) => void;
}

const BAR = 24;

/** Seconds as `m:ss` (or `h:mm:ss`). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return `${h ? `${h}:` : ""}${mm}:${String(r).padStart(2, "0")}`;
}

/**
 * The text of one progress line:
 * `title  [#########...............] 12/40  30%  0:03<0:07  text`.
 */
export function progressLine(
  title: string,
  current: number,
  total: number,
  elapsedS: number,
  text = "",
): string {
  const frac = total > 0 ? Math.min(1, Math.max(0, current / total)) : 1;
  const filled = Math.round(frac * BAR);
  const eta = current > 0 ? (elapsedS / current) * (total - current) : NaN;
  const parts = [
    `${title ? `${title}  ` : ""}[${"#".repeat(filled)}${".".repeat(BAR - filled)}]`,
    `${current}/${total}`,
    `${Math.floor(frac * 100)}%`,
    `${formatDuration(elapsedS)}<${current >= total ? "0:00" : formatDuration(eta)}`,
  ];
  if (text) parts.push(text);
  return parts.join("  ");
}

function defaultMode(): ProgressMode {
  if (inJupyter()) return "jupyter";
  try {
    if (Deno.stderr.isTerminal()) return "tty";
  } catch {
    // no stderr: fall through
  }
  return "plain";
}

let counter = 0;

/**
 * Starts a progress display for `total` steps.
 *
 * - In the Deno Jupyter kernel: one output line replaced in place
 *   (`update_display_data` on a `display_id`), at most ~4 updates a second.
 * - On a terminal: a `cli-progress` bar on stderr.
 * - Otherwise (CI logs, pipes): a plain line at the start, every 25 % or
 *   10 s, and at the end.
 *
 * @example
 * ```ts
 * const bar = progressBar({ total: files.length, title: "Reading" });
 * for (let i = 0; i < files.length; i++) { await read(files[i]); bar.update(i + 1, files[i]); }
 * await bar.finish();
 * ```
 */
export function progressBar(options: ProgressOptions): Progress {
  const { total } = options;
  if (!(Number.isFinite(total) && total > 0)) {
    throw new RangeError(`progressBar: total must be a positive number, got ${total}`);
  }
  const title = options.title ?? "";
  const mode = options.mode ?? defaultMode();
  const start = performance.now();
  const elapsed = () => (performance.now() - start) / 1000;
  let current = 0;
  let text = "";
  let done = false;
  const set = (c: number, t?: string) => {
    if (!Number.isFinite(c)) {
      throw new RangeError(`progress.update: current must be a number, got ${c}`);
    }
    current = Math.min(total, Math.max(0, c));
    if (t !== undefined) text = t;
  };

  if (mode === "jupyter") {
    const displayId = `progress-${Date.now().toString(36)}-${++counter}`;
    const throttle = options.throttleMs ?? 250;
    let last = performance.now(); // the first display just went out
    // Messages go out in order; keep the chain so finish() can wait for all of them.
    let chain: Promise<unknown> = Promise.resolve();
    const send = (update: boolean) => {
      const line = progressLine(title, current, total, elapsed(), text);
      chain = chain.then(() =>
        publish({ "text/plain": line }, { displayId, update }).catch(() => false)
      );
    };
    send(false);
    return {
      update(c, t) {
        if (done) return;
        set(c, t);
        const now = performance.now();
        if (now - last >= throttle) {
          last = now;
          send(true);
        }
      },
      async finish(t) {
        if (!done) {
          done = true;
          if (t !== undefined) text = t;
          send(true);
        }
        await chain;
      },
    };
  }

  if (mode === "tty") {
    const bar = new (cliProgress as unknown as CliProgress).SingleBar({
      format: `${title ? `${title}  ` : ""}[{bar}] {value}/{total}  {percentage}%  ` +
        `{duration_formatted}<{eta_formatted}  {text}`,
      barCompleteChar: "#",
      barIncompleteChar: ".",
      barsize: BAR,
      hideCursor: true,
      etaBuffer: 50,
    });
    bar.start(total, 0, { text: "" });
    return {
      update(c, t) {
        if (done) return;
        set(c, t);
        bar.update(current, { text });
      },
      finish(t) {
        if (!done) {
          done = true;
          if (t !== undefined) text = t;
          bar.update(current, { text });
          bar.stop();
        }
        return Promise.resolve();
      },
    };
  }

  const log = options.log ?? ((line: string) => console.log(line));
  const every = options.plainEveryMs ?? 10_000;
  let lastAt = performance.now();
  let lastQuarter = 0;
  if (mode === "plain") log(progressLine(title, 0, total, 0));
  return {
    update(c, t) {
      if (done) return;
      set(c, t);
      if (mode !== "plain") return;
      const quarter = Math.floor((current / total) * 4);
      const now = performance.now();
      if ((quarter > lastQuarter && current < total) || now - lastAt >= every) {
        lastQuarter = Math.max(lastQuarter, quarter);
        lastAt = now;
        log(progressLine(title, current, total, elapsed(), text));
      }
    },
    finish(t) {
      if (!done) {
        done = true;
        if (t !== undefined) text = t;
        if (mode === "plain") log(progressLine(title, current, total, elapsed(), text));
      }
      return Promise.resolve();
    },
  };
}

/**
 * A lib/io `ProgressReporter` drawing {@linkcode progressBar}s in `mode`
 * (default: chosen per bar, as {@linkcode progressBar} does).
 *
 * @example
 * ```ts
 * const sizes = await imageSizes("data/acmc", { progress: progressReporter() });
 * ```
 */
export function progressReporter(mode?: ProgressMode): ProgressReporter {
  return (total, title) => progressBar({ total, title, mode });
}

// Progress bars by default for the loops of the lower layers (see the module doc).
setDefaultProgress(progressReporter());

/** The part of the cli-progress package used here (it ships no types). */
interface CliProgress {
  SingleBar: new (options: Record<string, unknown>) => {
    start(total: number, value: number, payload?: Record<string, unknown>): void;
    update(value: number, payload?: Record<string, unknown>): void;
    stop(): void;
  };
}
