/**
 * Caches of resized images as uint8 (values rounded from the float32 resize),
 * Keras' `.cache()` analogue: in memory, or on disk under
 * `outDir("cache", "images")` so later epochs and later runs skip decoding.
 * Never written inside the dataset folder.
 *
 * The disk cache is one file per (file list, image size, channels,
 * interpolation, crop/pad) with one fixed-size record per file, so a batch of
 * files that are neighbours in the list is one read, and the batch one uint8
 * to float32 conversion. Each record carries the source file's size and
 * mtime (a changed file is a miss, and is decoded and rewritten) and a
 * checksum of its bytes (a torn or corrupted record is a miss too). The file
 * is created whole under a temporary name and linked into place, a record is
 * marked invalid before it is rewritten and valid only after its bytes are
 * written, so a crash never leaves a record that reads as valid, and two
 * processes filling the same cache write the same bytes.
 *
 * @module
 */
import { join, relative, resolve } from "node:path";
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { outDir } from "../config/mod.ts";
// @ts-types="./native_decode.d.ts"
import { toUint8 } from "./native_decode.js";

/** Where a resized image is kept between epochs. */
export type CacheMode = "disk" | "memory" | false;

export { toUint8 };

/** Widens uint8 pixels to float32. */
export function toFloat32(x: Uint8Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i];
  return out;
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

/**
 * A 32-bit checksum of `b`: its CRC-32 (zlib's, through `node:zlib`), which
 * catches every change of up to 32 consecutive bits. Native and vectorised:
 * ~0.01 ms per 196 KB record here, where the former FNV-1a loop in
 * JavaScript took 0.06 ms (15 ms of a 240-image cached pass).
 */
export function checksum(b: Uint8Array): number {
  return crc32(b) >>> 0;
}

const MAGIC = "ACMCIMG2"; // 2: CRC-32 checksums (1: FNV-1a)
const HEADER_BYTES = 4096;
const ENTRY_BYTES = 32;
const VALID = 0x31434552; // "REC1"

/** A source file's identity as the cache records it. */
interface Stamp {
  size: number;
  mtime: number;
}

function stamp(file: string): Stamp | null {
  try {
    const st = Deno.statSync(file);
    return { size: st.size, mtime: st.mtime?.getTime() ?? 0 };
  } catch {
    return null;
  }
}

function readFully(f: Deno.FsFile, at: number, into: Uint8Array): number {
  f.seekSync(at, Deno.SeekMode.Start);
  let n = 0;
  while (n < into.length) {
    const r = f.readSync(into.subarray(n));
    if (r === null || r === 0) break;
    n += r;
  }
  return n;
}

function writeFully(f: Deno.FsFile, at: number, data: Uint8Array): void {
  f.seekSync(at, Deno.SeekMode.Start);
  let n = 0;
  while (n < data.length) n += f.writeSync(data.subarray(n));
}

/** An on-disk store of resized uint8 images: one file, one record per source file. */
export class DiskCache {
  /** The cache folder. */
  readonly dir: string;
  /** The cache file (created on first use). */
  readonly path: string;
  /** Bytes per image. */
  readonly recordBytes: number;
  /** Hits (records read), misses (records absent, stale or corrupt) and records written. */
  readonly stats = { hits: 0, misses: 0, writes: 0 };
  #files: string[];
  #index = new Map<string, number>();
  #header: Uint8Array;
  #file: Deno.FsFile | null = null;
  #entries: DataView | null = null;
  #stamps: (Stamp | null)[];
  #dataOffset: number;

  /**
   * @param dir folder for the cache file (created on first use).
   * @param variant a string naming the resize options (size, channels, method, crop/pad).
   * @param files the source files, one record each (in sorted order).
   * @param recordBytes bytes of one resized image.
   */
  constructor(dir: string, variant: string, files: string[], recordBytes: number) {
    this.dir = dir;
    this.recordBytes = recordBytes;
    // sorted: the same files in another order (a shuffled list) share one cache
    this.#files = [...new Set(files.map((f) => resolve(f)))].sort();
    this.#files.forEach((f, i) => this.#index.set(f, i));
    this.#stamps = new Array(this.#files.length).fill(null);
    const hash = createHash("sha256").update(variant).update("\0")
      .update(this.#files.join("\0")).digest("hex");
    this.path = join(dir, `images-${hash.slice(0, 32)}.u8cache`);
    const json = new TextEncoder().encode(
      JSON.stringify({ variant, files: hash, count: this.#files.length, recordBytes }),
    );
    if (json.length > HEADER_BYTES - 16) throw new Error("cache variant too long");
    this.#header = new Uint8Array(HEADER_BYTES);
    this.#header.set(new TextEncoder().encode(MAGIC));
    const hv = new DataView(this.#header.buffer);
    hv.setUint32(8, json.length, true);
    hv.setUint32(12, checksum(json), true);
    this.#header.set(json, 16);
    const indexEnd = HEADER_BYTES + this.#files.length * ENTRY_BYTES;
    this.#dataOffset = Math.ceil(indexEnd / 4096) * 4096;
  }

  /** The record number of `file`, or -1 when it is not one of this cache's files. */
  recordOf(file: string): number {
    return this.#index.get(resolve(file)) ?? -1;
  }

  /** Opens (or creates, atomically) the cache file and loads its index. */
  #open(): void {
    if (this.#file) return;
    Deno.mkdirSync(this.dir, { recursive: true });
    for (let attempt = 0; attempt < 3; attempt++) {
      let f: Deno.FsFile | null = null;
      try {
        f = Deno.openSync(this.path, { read: true, write: true });
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      if (f) {
        const head = new Uint8Array(HEADER_BYTES);
        const entries = new Uint8Array(this.#files.length * ENTRY_BYTES);
        if (
          readFully(f, 0, head) === HEADER_BYTES &&
          head.every((b, i) => b === this.#header[i]) &&
          readFully(f, HEADER_BYTES, entries) === entries.length
        ) {
          this.#file = f;
          this.#entries = new DataView(entries.buffer);
          return;
        }
        f.close(); // a foreign, torn or older file: replace it whole
      }
      const tmp = `${this.path}.${crypto.randomUUID()}.tmp`;
      const t = Deno.openSync(tmp, { write: true, createNew: true });
      try {
        writeFully(t, 0, this.#header);
        writeFully(t, HEADER_BYTES, new Uint8Array(this.#files.length * ENTRY_BYTES));
      } finally {
        t.close();
      }
      if (f) Deno.renameSync(tmp, this.path);
      else {
        try {
          Deno.linkSync(tmp, this.path); // fails when another process created it meanwhile
        } catch (e) {
          if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
        } finally {
          Deno.removeSync(tmp);
        }
      }
    }
    throw new Error(`cannot open the image cache ${this.path}`);
  }

  #entryOk(i: number, s: Stamp): boolean {
    const e = this.#entries!;
    const o = i * ENTRY_BYTES;
    return e.getUint32(o, true) === VALID && e.getFloat64(o + 8, true) === s.size &&
      e.getFloat64(o + 16, true) === s.mtime && e.getUint32(o + 24, true) === this.recordBytes;
  }

  /**
   * True when record `i` holds the current version of its file (size and
   * mtime match; the bytes are checked when read). Stats the file; a miss
   * re-reads the entry from disk (another process may have written it).
   */
  has(i: number): boolean {
    this.#open();
    const s = stamp(this.#files[i]);
    this.#stamps[i] = s;
    if (!s) return false;
    if (this.#entryOk(i, s)) return true;
    const fresh = new Uint8Array(ENTRY_BYTES);
    if (readFully(this.#file!, HEADER_BYTES + i * ENTRY_BYTES, fresh) === ENTRY_BYTES) {
      new Uint8Array(this.#entries!.buffer, i * ENTRY_BYTES, ENTRY_BYTES).set(fresh);
    }
    return this.#entryOk(i, s);
  }

  /**
   * Reads records `first .. first+count-1` into `into` at byte `offset` in one
   * read, and checks each one's checksum.
   * @returns the record numbers that failed (short read or corrupt): misses,
   * to decode again; the others count as hits.
   */
  read(first: number, count: number, into: Uint8Array, offset: number): number[] {
    this.#open();
    const n = this.recordBytes;
    const dest = into.subarray(offset, offset + count * n);
    const got = readFully(this.#file!, this.#dataOffset + first * n, dest);
    const bad: number[] = [];
    for (let k = 0; k < count; k++) {
      const i = first + k;
      const ok = (k + 1) * n <= got &&
        checksum(dest.subarray(k * n, (k + 1) * n)) ===
          this.#entries!.getUint32(i * ENTRY_BYTES + 4, true);
      if (ok) this.stats.hits++;
      else bad.push(i);
    }
    return bad;
  }

  /**
   * Stores `data` as record `i`, stamped with the file's size and mtime as
   * {@linkcode has} saw them (before the file was read): invalid first, then
   * the bytes, then the entry.
   */
  write(i: number, data: Uint8Array): void {
    this.#open();
    const s = this.#stamps[i] ?? stamp(this.#files[i]);
    if (!s || data.length !== this.recordBytes) return;
    const f = this.#file!;
    const at = HEADER_BYTES + i * ENTRY_BYTES;
    writeFully(f, at, new Uint8Array(4)); // invalid while the bytes change
    writeFully(f, this.#dataOffset + i * this.recordBytes, data);
    const entry = new DataView(new ArrayBuffer(ENTRY_BYTES));
    entry.setUint32(0, VALID, true);
    entry.setUint32(4, checksum(data), true);
    entry.setFloat64(8, s.size, true);
    entry.setFloat64(16, s.mtime, true);
    entry.setUint32(24, this.recordBytes, true);
    const bytes = new Uint8Array(entry.buffer);
    writeFully(f, at, bytes);
    new Uint8Array(this.#entries!.buffer, i * ENTRY_BYTES, ENTRY_BYTES).set(bytes);
    this.stats.writes++;
  }

  /** Closes the file (it reopens on next use). */
  close(): void {
    this.#file?.close();
    this.#file = null;
    this.#entries = null;
  }
}
