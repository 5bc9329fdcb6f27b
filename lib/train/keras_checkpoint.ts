/**
 * What a Keras 3 `.weights.h5` checkpoint (written by `modelCheckpoint` for
 * such a path) says about itself: the file holds weights only, so its epoch,
 * that epoch's logs and the history come from the `<path>.history.json` the
 * callback writes beside it, when present. `loadCheckpoint` and
 * `readCheckpointInfo` use this for such paths.
 *
 * @module
 */
import type { History, Logs } from "./types.ts";

/** True for a path read as Keras' weights file (it ends in `.weights.h5`, Keras' rule). */
export function isKerasWeightsPath(path: string): boolean {
  return path.endsWith(".weights.h5");
}

/** The epoch-related part of a `.weights.h5` checkpoint's info. */
export interface KerasCheckpointMeta {
  /** ISO time the file was last written. */
  createdAt: string;
  /** 0-based epoch of the weights in the file (the history file's last checkpoint epoch), or null. */
  epoch: number | null;
  /** That epoch's logs, or null. */
  logs: Logs | null;
  /** The history up to and including `epoch`, or null. */
  history: History | null;
}

/** Reads the file's time and, from `<path>.history.json` when present, its epoch, logs and history. */
export async function kerasCheckpointMeta(path: string): Promise<KerasCheckpointMeta> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`checkpoint ${path}: no such file`);
    throw e;
  }
  const createdAt = (stat.mtime ?? new Date()).toISOString();
  let saved: (History & { checkpointEpochs?: number[] }) | null = null;
  try {
    saved = JSON.parse(await Deno.readTextFile(`${path}.history.json`));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new Error(
        `checkpoint ${path}: cannot read ${path}.history.json: ${(e as Error).message}`,
      );
    }
  }
  const epochs = saved?.checkpointEpochs ?? [];
  if (!saved || epochs.length === 0) return { createdAt, epoch: null, logs: null, history: null };
  const epoch = epochs[epochs.length - 1];
  const i = saved.epoch.indexOf(epoch);
  const n = saved.epoch.filter((e) => e <= epoch).length;
  const entries = Object.entries(saved.history);
  return {
    createdAt,
    epoch,
    logs: i < 0 ? null : Object.fromEntries(entries.map(([k, v]) => [k, v[i]])),
    history: {
      epoch: saved.epoch.slice(0, n),
      history: Object.fromEntries(entries.map(([k, v]) => [k, v.slice(0, n)])),
      params: { ...saved.params },
    },
  };
}
