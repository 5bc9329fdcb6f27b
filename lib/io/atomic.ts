/**
 * Writing a file so that readers (and a crash) see either the old content or
 * the new, never a torn file: the one atomic write of this project
 * (checkpoints, predictions, results, manifests, the image cache).
 *
 * @module
 */
import { basename, dirname, join } from "node:path";

/** Options of {@linkcode writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /**
   * Flush the file and then its folder to disk (`fsync`) so that the new
   * content also survives a power loss, and first remove the temporary files
   * that earlier killed writes to the same `path` left (one writer per path is
   * assumed). Default true. False (caches, whose loss costs only a
   * recomputation) keeps only the rename: still never a torn file.
   */
  durable?: boolean;
}

/**
 * Writes `data` to `path` atomically: a temporary file in the same folder,
 * renamed over `path` (atomic on POSIX file systems). Creates the folder. A
 * failed write removes its temporary file and leaves `path` as it was.
 *
 * @param path the file to (re)place.
 * @param data bytes, or text written as UTF-8.
 * @example
 * ```ts
 * await writeFileAtomic("out/results/02.json", JSON.stringify({ accuracy: 0.5 }));
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  await writeAtomically(path, async (tmp) => {
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      let off = 0;
      while (off < bytes.length) off += await file.write(bytes.subarray(off));
    } finally {
      file.close();
    }
  }, options);
}

/**
 * The same atomic replacement of `path` for a writer that needs a file name
 * (e.g. h5wasm): `write(tmp)` creates the temporary file `tmp` (same folder),
 * which is then flushed (when durable) and renamed over `path`. If `write`
 * throws, `tmp` is removed and `path` is left as it was.
 *
 * @example
 * ```ts
 * await writeAtomically("out/model.weights.h5", (tmp) => writeH5(tmp));
 * ```
 */
export async function writeAtomically(
  path: string,
  write: (tmp: string) => Promise<void> | void,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const durable = options.durable ?? true;
  const dir = dirname(path);
  const prefix = `.${basename(path)}.tmp-`;
  await Deno.mkdir(dir, { recursive: true });
  if (durable) {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.startsWith(prefix)) {
        await Deno.remove(join(dir, entry.name)).catch(() => {});
      }
    }
  }
  const tmp = join(dir, `${prefix}${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`);
  try {
    await write(tmp);
    if (durable) {
      const file = await Deno.open(tmp, { read: true, write: true });
      try {
        await file.syncData();
      } finally {
        file.close();
      }
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  if (!durable) return;
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.syncData();
    } finally {
      d.close();
    }
  } catch {
    // some file systems cannot sync a folder; the rename is still atomic
  }
}
