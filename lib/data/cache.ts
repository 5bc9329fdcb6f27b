/**
 * Caches of resized images as uint8 (values rounded from the float32 resize):
 * in memory, or on disk under `outDir("cache", "images")` keyed by the file's
 * absolute path, mtime, size and the resize options, so later epochs and
 * later runs skip decoding. Never written inside the dataset folder.
 *
 * @module
 */
import { join, relative, resolve } from "node:path";
import { outDir } from "../config/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";

/** Where a resized image is kept between epochs. */
export type CacheMode = "disk" | "memory" | false;

/** Rounds float32 0-255 pixels to uint8 (half away from zero, clamped). */
export function toUint8(x: Float32Array): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] + 0.5; // Uint8Array assignment truncates + clamps
  return out;
}

/** Widens uint8 pixels to float32. */
export function toFloat32(x: Uint8Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i];
  return out;
}

async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The default disk cache folder, `outDir("cache", "images")`. */
export function defaultCacheDir(): string {
  return outDir("cache", "images");
}

/** True when `inner` is `outer` or inside it. */
export function isInside(inner: string, outer: string): boolean {
  const rel = relative(resolve(outer), resolve(inner));
  return rel === "" || (!rel.startsWith("..") && !rel.startsWith("/"));
}

/** An on-disk store of resized uint8 images. */
export class DiskCache {
  /** The cache folder. */
  readonly dir: string;
  /** Hits and misses since creation. */
  readonly stats = { hits: 0, misses: 0, writes: 0 };
  #variant: string;

  /**
   * @param dir folder for the cache files (created on first write).
   * @param variant a string naming the resize options (size, channels, method, crop/pad).
   */
  constructor(dir: string, variant: string) {
    this.dir = dir;
    this.#variant = variant;
  }

  async #path(file: string): Promise<string | null> {
    let st: Deno.FileInfo;
    try {
      st = await Deno.stat(file);
    } catch {
      return null;
    }
    const key = await sha256Hex(
      JSON.stringify([resolve(file), st.mtime?.getTime() ?? 0, st.size, this.#variant]),
    );
    return join(this.dir, key.slice(0, 2), key + ".u8");
  }

  /** The cached bytes of `file`, or null (absent, stale or wrong length). */
  async get(file: string, length: number): Promise<Uint8Array | null> {
    const p = await this.#path(file);
    if (p) {
      try {
        const b = await Deno.readFile(p);
        if (b.length === length) {
          this.stats.hits++;
          return b;
        }
      } catch {
        // not cached yet
      }
    }
    this.stats.misses++;
    return null;
  }

  /** Stores `data` for `file` (atomically: temp file + rename). */
  async set(file: string, data: Uint8Array): Promise<void> {
    const p = await this.#path(file);
    if (!p) return;
    // Not durable: a lost entry is only decoded again.
    await writeFileAtomic(p, data, { durable: false });
    this.stats.writes++;
  }
}
