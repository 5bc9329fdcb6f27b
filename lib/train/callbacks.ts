/**
 * Training callbacks with Keras 3's semantics: {@linkcode earlyStopping} and
 * {@linkcode modelCheckpoint} (keras/src/callbacks/early_stopping.py,
 * model_checkpoint.py, monitor_callback.py).
 *
 * @module
 */
import { tf } from "../engine/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import { saveKerasWeights } from "../models/mod.ts";
import { saveCheckpoint } from "./checkpoint.ts";
import type { Callback, History, Logs, TrainingContext } from "./types.ts";

/** How a monitored quantity improves: `"min"`, `"max"`, or `"auto"` (from its name). */
export type MonitorMode = "auto" | "min" | "max";

/** Metrics this project logs that improve upwards (Keras' `_direction == "up"`). */
const UP_METRICS = new Set([
  "accuracy",
  "acc",
  "categorical_accuracy",
  "sparse_categorical_accuracy",
]);

/**
 * The comparison Keras' `MonitorCallback` uses: `"auto"` means "min" for
 * `loss`/`val_loss`, "max" for accuracy metrics, and an error otherwise
 * (as Keras 3 raises for a metric whose direction it cannot tell).
 */
export function monitorDirection(monitor: string, mode: MonitorMode): "min" | "max" {
  if (mode === "min" || mode === "max") return mode;
  if (mode !== "auto") throw new Error(`mode must be "auto", "min" or "max", got ${mode}`);
  const name = monitor.startsWith("val_") ? monitor.slice(4) : monitor;
  if (name === "loss") return "min";
  if (UP_METRICS.has(name)) return "max";
  throw new Error(
    `monitor=${monitor}: cannot tell whether it should be maximized or minimized; ` +
      `pass mode: "max" or mode: "min"`,
  );
}

/** Keras' `_is_improvement`: `current - minDelta` beats `reference` (min_delta's sign flips for "min"). */
function isImprovement(
  current: number,
  reference: number | null,
  dir: "min" | "max",
  minDelta: number,
): boolean {
  if (reference === null) return true;
  const d = dir === "min" ? -Math.abs(minDelta) : Math.abs(minDelta);
  return dir === "min" ? current - d < reference : current - d > reference;
}

/** Options of {@linkcode earlyStopping} (Keras' `EarlyStopping` arguments, camelCased). */
export interface EarlyStoppingOptions {
  /** Quantity to monitor (default `"val_loss"`). */
  monitor?: string;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Epochs without improvement after which training stops (default 0). */
  patience?: number;
  /** `"auto"` (default), `"min"` or `"max"`. */
  mode?: MonitorMode;
  /** Value the monitored quantity must beat before the patience counter resets (default none). */
  baseline?: number | null;
  /** Restore the weights of the best epoch when training ends (default false). */
  restoreBestWeights?: boolean;
  /** Epochs to wait before monitoring starts (default 0). */
  startFromEpoch?: number;
  /** Print a line when stopping / restoring (default false). */
  verbose?: boolean;
}

/** The {@linkcode earlyStopping} callback, with its state readable after `fit`. */
export interface EarlyStopping extends Callback {
  /** 0-based epoch at which training was stopped, 0 when it was not (Keras' `stopped_epoch`). */
  readonly stoppedEpoch: number;
  /** 0-based epoch of the best monitored value (Keras' `best_epoch`). */
  readonly bestEpoch: number;
  /** The best monitored value, or null before any. */
  readonly best: number | null;
  /** Epochs since the last improvement (Keras' `wait`). */
  readonly wait: number;
}

/**
 * Stops training when `monitor` has stopped improving, exactly as Keras 3's
 * `EarlyStopping` does: each epoch the wait counter goes up; an improvement
 * (`current - minDelta` better than the best) records the best value and
 * epoch and resets the counter (only if it also beats `baseline`, when
 * given); otherwise training stops once `wait >= patience` (never after the
 * first epoch). State is reset at the start of each `fit`.
 *
 * @example
 * ```ts
 * const stop = earlyStopping({ monitor: "val_accuracy", patience: 5 });
 * await fit(model, train, { epochs: 20, validationData: valid, callbacks: [stop] });
 * console.log(stop.stoppedEpoch, stop.bestEpoch);
 * ```
 */
export function earlyStopping(options: EarlyStoppingOptions = {}): EarlyStopping {
  const monitor = options.monitor ?? "val_loss";
  const minDelta = Math.abs(options.minDelta ?? 0);
  const patience = options.patience ?? 0;
  const mode = options.mode ?? "auto";
  const baseline = options.baseline ?? null;
  const restore = options.restoreBestWeights ?? false;
  const startFromEpoch = options.startFromEpoch ?? 0;
  const dir = monitorDirection(monitor, mode);
  let wait = 0, stoppedEpoch = 0, bestEpoch = 0;
  let best: number | null = null;
  let bestWeights: tf.Tensor[] | null = null;
  const snapshot = (model: tf.LayersModel) => {
    if (bestWeights) tf.dispose(bestWeights);
    bestWeights = model.weights.map((w) => w.read().clone());
  };
  let warned = false;
  return {
    get stoppedEpoch() {
      return stoppedEpoch;
    },
    get bestEpoch() {
      return bestEpoch;
    },
    get best() {
      return best;
    },
    get wait() {
      return wait;
    },
    onTrainBegin() {
      wait = 0;
      stoppedEpoch = 0;
      best = null;
      bestEpoch = 0;
      if (bestWeights) tf.dispose(bestWeights);
      bestWeights = null;
    },
    onEpochEnd(epoch: number, logs: Logs, ctx: TrainingContext) {
      const current = logs[monitor];
      if (current === undefined) {
        if (!warned) {
          console.warn(
            `earlyStopping: monitor ${monitor} is not in the logs (${
              Object.keys(logs).join(", ")
            })`,
          );
          warned = true;
        }
        return;
      }
      if (epoch < startFromEpoch) return;
      if (restore && bestWeights === null) {
        snapshot(ctx.model);
        bestEpoch = epoch;
      }
      wait += 1;
      if (isImprovement(current, best, dir, minDelta)) {
        best = current;
        bestEpoch = epoch;
        if (restore) snapshot(ctx.model);
        if (baseline === null || isImprovement(current, baseline, dir, minDelta)) wait = 0;
        return;
      }
      if (wait >= patience && epoch > 0) {
        stoppedEpoch = epoch;
        ctx.stopTraining = true;
      }
    },
    onTrainEnd(ctx: TrainingContext) {
      if (stoppedEpoch > 0 && options.verbose) {
        console.log(`Epoch ${stoppedEpoch + 1}: early stopping`);
      }
      if (restore && bestWeights !== null) {
        if (options.verbose) {
          console.log(`Restoring model weights from the end of the best epoch: ${bestEpoch + 1}.`);
        }
        ctx.model.setWeights(bestWeights);
        tf.dispose(bestWeights);
        bestWeights = null;
      }
    },
  };
}

/** Options of {@linkcode modelCheckpoint} (Keras' `ModelCheckpoint` arguments, camelCased). */
export interface ModelCheckpointOptions {
  /**
   * File to write. May hold Keras-style placeholders filled per epoch:
   * `{epoch}` / `{epoch:02d}` (1-based) and log values such as
   * `{val_accuracy:.4f}`. A path ending in `.weights.h5` gets Keras 3's
   * weights file (`saveKerasWeights`, weights only: Keras' own rule, readable
   * by `model.load_weights` and `loadKerasWeights`); any other path our own
   * checkpoint format (checkpoint.ts), which can also hold the optimizer's
   * state and the epoch for resuming.
   */
  path: string;
  /** Quantity to monitor (default `"val_loss"`). */
  monitor?: string;
  /** `"auto"` (default), `"min"` or `"max"`. */
  mode?: MonitorMode;
  /** Save only when the monitored quantity improves on the best so far (default false). */
  saveBestOnly?: boolean;
  /**
   * Save the weights only (default false; always so for `.weights.h5`, where
   * false is refused). Otherwise the checkpoint also holds the optimizer's
   * state and the model's topology (as Keras' `.keras` files do), which `fit`
   * can resume from.
   */
  saveWeightsOnly?: boolean;
  /** Initial best value: saves only beat it (Keras' `initial_value_threshold`; pass the saved best when resuming). */
  initialValueThreshold?: number | null;
  /** Also write the history so far to `<path>.history.json` after every epoch (default true). */
  saveHistory?: boolean;
  /** Print a line per epoch (default false). */
  verbose?: boolean;
}

/** The {@linkcode modelCheckpoint} callback, with its state readable after `fit`. */
export interface ModelCheckpoint extends Callback {
  /** Best monitored value so far (kept across fits, as in Keras). */
  readonly best: number | null;
  /** 0-based epochs at which a checkpoint was written. */
  readonly savedEpochs: number[];
  /** Path of the last checkpoint written, or null. */
  readonly lastPath: string | null;
}

/** Fills Keras-style `{name}` / `{name:fmt}` placeholders (`d`, `0Nd`, `.Nf`, `.Ne`). */
export function formatCheckpointPath(template: string, epoch: number, logs: Logs): string {
  const values: Logs = { ...logs, epoch: epoch + 1 };
  return template.replace(/\{(\w+)(?::([^}]*))?\}/g, (_, key: string, fmt?: string) => {
    const v = values[key];
    if (v === undefined) {
      throw new Error(`modelCheckpoint: path ${template} names {${key}}, not in the logs`);
    }
    if (!fmt) return String(v);
    const m = /^(0?)(\d*)(?:\.(\d+))?([dfe])$/.exec(fmt);
    if (!m) throw new Error(`modelCheckpoint: unsupported format {${key}:${fmt}} in ${template}`);
    const [, zero, width, prec, type] = m;
    let s = type === "d"
      ? String(Math.trunc(v))
      : type === "f"
      ? v.toFixed(prec ? Number(prec) : 6)
      : v.toExponential(prec ? Number(prec) : 6).replace(/e([+-])(\d)$/, "e$10$2");
    if (width) s = s.padStart(Number(width), zero ? "0" : " ");
    return s;
  });
}

function historyUpTo(history: History, epoch: number): History {
  const n = history.epoch.filter((e) => e <= epoch).length;
  return {
    epoch: history.epoch.slice(0, n),
    history: Object.fromEntries(
      Object.entries(history.history).map(([k, v]) => [k, v.slice(0, n)]),
    ),
    params: { ...history.params },
  };
}

/**
 * Saves the model at the end of every epoch, or only when `monitor`
 * improves (`saveBestOnly`), with Keras 3's `ModelCheckpoint` semantics:
 * the best value starts at `initialValueThreshold` and is kept across fits
 * (as in Keras, reusing one callback in a second fit compares against the
 * first fit's best). Every write is atomic (see checkpoint.ts), and the
 * checkpoint carries its epoch, logs, best value and history for resuming;
 * a `.weights.h5` path gets Keras' weights file instead (`loadCheckpoint`
 * reads it back, its epoch and logs from the history written beside it).
 * A monitored value missing from the logs saves anyway (Keras warns and saves).
 *
 * @example
 * ```ts
 * const ckpt = modelCheckpoint({
 *   path: outDir("checkpoints", "02-scratch", "best.ckpt"),
 *   monitor: "val_accuracy", saveBestOnly: true, saveWeightsOnly: true,
 * });
 * await fit(model, train, { epochs: 20, validationData: valid, callbacks: [ckpt] });
 * await loadCheckpoint(model, ckpt.lastPath!);
 * ```
 */
export function modelCheckpoint(options: ModelCheckpointOptions): ModelCheckpoint {
  if (!options?.path) throw new Error("modelCheckpoint: options.path is required");
  const monitor = options.monitor ?? "val_loss";
  const mode = options.mode ?? "auto";
  const saveBestOnly = options.saveBestOnly ?? false;
  const keras = options.path.endsWith(".weights.h5");
  if (keras && options.saveWeightsOnly === false) {
    throw new Error(
      `modelCheckpoint: ${options.path} is a Keras weights file (.weights.h5), which holds ` +
        `weights only; drop saveWeightsOnly: false, or use another extension for a checkpoint ` +
        `with the optimizer's state`,
    );
  }
  const weightsOnly = keras || (options.saveWeightsOnly ?? false);
  const saveHistory = options.saveHistory ?? true;
  const dir = monitorDirection(monitor, mode);
  let best: number | null = options.initialValueThreshold ?? null;
  const savedEpochs: number[] = [];
  let lastPath: string | null = null;
  const log = (s: string) => options.verbose && console.log(s);
  return {
    get best() {
      return best;
    },
    get savedEpochs() {
      return savedEpochs;
    },
    get lastPath() {
      return lastPath;
    },
    onTrainBegin(ctx: TrainingContext) {
      if (!weightsOnly) {
        try {
          ctx.model.toJSON(null, false);
        } catch (e) {
          throw new Error(
            `modelCheckpoint: the model cannot be serialised (${(e as Error).message}); ` +
              `use saveWeightsOnly: true`,
          );
        }
      }
    },
    async onEpochEnd(epoch: number, logs: Logs, ctx: TrainingContext) {
      const path = formatCheckpointPath(options.path, epoch, logs);
      let save = true;
      if (saveBestOnly) {
        const current = logs[monitor];
        if (current === undefined) {
          console.warn(`modelCheckpoint: can save best model only with ${monitor} available`);
        } else if (isImprovement(current, best, dir, 0)) {
          log(
            `Epoch ${epoch + 1}: ${monitor} improved from ${best?.toFixed(5) ?? "None"} to ` +
              `${current.toFixed(5)}, saving model to ${path}`,
          );
          best = current;
        } else {
          log(`Epoch ${epoch + 1}: ${monitor} did not improve from ${best?.toFixed(5) ?? "None"}`);
          save = false;
        }
      }
      if (save && keras) {
        await saveKerasWeights(ctx.model, path);
        savedEpochs.push(epoch);
        lastPath = path;
      } else if (save) {
        await saveCheckpoint(ctx.model, path, {
          optimizer: weightsOnly ? undefined : ctx.optimizer,
          includeTopology: !weightsOnly,
          epoch,
          logs,
          monitor,
          best,
          history: historyUpTo(ctx.history, epoch),
        });
        savedEpochs.push(epoch);
        lastPath = path;
      }
      if (saveHistory) {
        await writeFileAtomic(
          `${path}.history.json`,
          JSON.stringify({ ...ctx.history, checkpointEpochs: savedEpochs }, null, 1),
        );
      }
    },
  };
}
