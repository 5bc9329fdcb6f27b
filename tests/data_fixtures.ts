/**
 * A tiny image tree for the loader tests: class folders with spaces and
 * Unicode, nested folders whose names sort differently as paths than as a
 * depth-first walk, upper-case extensions, non-image files, a hidden folder,
 * and PNG (RGB, RGBA, grey, grey+alpha, palette, 16-bit), JPEG (RGB, grey,
 * CMYK), GIF and BMP (written by hand: sharp cannot write BMP).
 */
import sharp from "sharp";
import { dirname, join } from "node:path";
import type { ImageDataset } from "../lib/data/mod.ts";

/**
 * A deterministic test pattern, `channels` bands: smooth waves plus, unless
 * `noise` is false, per-pixel texture.
 */
export function pattern(
  w: number,
  h: number,
  channels: number,
  seed: number,
  noise = true,
): Uint8Array {
  const out = new Uint8Array(w * h * channels);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < channels; c++) {
        const v = 128 + 90 * Math.sin((x * (c + 1) + seed) / 5) * Math.cos((y + 3 * c) / 7) +
          (noise ? (x * 7 + y * 13 + seed * 31 + c * 17) % 23 : 0);
        out[(y * w + x) * channels + c] = c === 3
          ? (x * 11 + y * 5) % 256
          : Math.max(0, Math.min(255, v));
      }
    }
  }
  return out;
}

/** A 24-bit bottom-up BMP of an RGB pattern. */
export function bmp24(w: number, h: number, seed: number): Uint8Array {
  const rgb = pattern(w, h, 3, seed);
  const stride = Math.ceil((w * 3) / 4) * 4;
  const size = 54 + stride * h;
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  b[0] = 0x42;
  b[1] = 0x4d;
  v.setUint32(2, size, true);
  v.setUint32(10, 54, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, w, true);
  v.setInt32(22, h, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, 24, true);
  v.setUint32(34, stride * h, true);
  for (let y = 0; y < h; y++) {
    const row = 54 + (h - 1 - y) * stride;
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * 3;
      b[row + x * 3] = rgb[s + 2];
      b[row + x * 3 + 1] = rgb[s + 1];
      b[row + x * 3 + 2] = rgb[s];
    }
  }
  return b;
}

type Kind =
  | "rgb"
  | "rgba"
  | "grey"
  | "greya"
  | "palette"
  | "rgb16"
  | "jpeg"
  | "greyjpeg"
  | "cmyk"
  | "gif"
  | "bmp";

/** Encodes a `w x h` pattern image of the given kind. */
export async function encode(kind: Kind, w: number, h: number, seed: number): Promise<Uint8Array> {
  if (kind === "bmp") return bmp24(w, h, seed);
  const four = sharp(pattern(w, h, 4, seed), { raw: { width: w, height: h, channels: 4 } });
  // JPEGs get the smooth pattern: on per-pixel noise, libjpeg's fast (TF) and
  // accurate (sharp) IDCTs differ by ~1.5 grey levels on average.
  const jpeg = kind === "jpeg" || kind === "greyjpeg" || kind === "cmyk";
  const three = sharp(pattern(w, h, 3, seed, !jpeg), { raw: { width: w, height: h, channels: 3 } });
  let s: ReturnType<typeof sharp>;
  switch (kind) {
    case "rgb":
      s = three.png();
      break;
    case "rgba":
      s = four.png();
      break;
    case "grey":
      s = three.toColourspace("b-w").png();
      break;
    case "greya":
      s = four.toColourspace("b-w").png();
      break;
    case "palette":
      s = three.png({ palette: true, colours: 64 });
      break;
    case "rgb16":
      s = three.toColourspace("rgb16").png();
      break;
    case "jpeg":
      s = three.jpeg({ quality: 95 });
      break;
    case "greyjpeg":
      s = three.toColourspace("b-w").jpeg({ quality: 95 });
      break;
    case "cmyk":
      s = three.jpeg({ quality: 95 }).toColourspace("cmyk");
      break;
    case "gif":
      s = three.gif();
      break;
  }
  return new Uint8Array(await s.toBuffer());
}

/** The tree: relative path -> [kind, width, height] (or raw text for non-images). */
export const TREE: Record<string, [Kind, number, number] | string> = {
  "Betty Cooper/a.png": ["rgb", 40, 30],
  "Betty Cooper/b b.PNG": ["rgba", 33, 47],
  "Betty Cooper/sub/c.jpg": ["jpeg", 50, 20],
  "Betty Cooper/sub/deeper/c2.png": ["rgb", 21, 35],
  "Betty Cooper/sub dir/d.png": ["grey", 28, 28],
  "Betty Cooper/sub-x/e.png": ["palette", 45, 25],
  "Betty Cooper/readme.txt": "not an image",
  "Betty Cooper/x.png.bak": "not an image either",
  "Árchie/f.png": ["rgb16", 30, 44],
  "Árchie/g.gif": ["gif", 26, 19],
  "Árchie/h.bmp": ["bmp", 31, 17],
  "Árchie/i.JPEG": ["greyjpeg", 24, 36],
  "Árchie/j k l.png": ["greya", 37, 22],
  "Árchie/Z.png": ["rgb", 16, 16],
  "Árchie/_m.png": ["rgb", 60, 12],
  "Zoë ünï/n.jpg": ["cmyk", 32, 32],
  "Zoë ünï/o.png": ["rgb", 12, 60],
  "Zoë ünï/p.Png": ["rgba", 44, 44],
  "Zoë ünï/q/r.png": ["rgb", 25, 33],
  "Zoë ünï/q/s.gif": ["gif", 18, 27],
  "Zoë ünï/t.bmp": ["bmp", 20, 20],
  "Zoë ünï/u.png": ["palette", 19, 29],
  "Zoë ünï/v.jpeg": ["jpeg", 41, 23],
  "Zoë ünï/w.png": ["grey", 27, 31],
  "Zoë ünï/😀.png": ["rgb", 22, 22],
  "Zoë ünï/\uff41.png": ["rgb", 23, 21],
  "Zoë ünï/.hidden.png": ["rgb", 14, 14],
  "_plain/x1.png": ["rgb", 30, 30],
  "_plain/x2.png": ["rgb", 30, 31],
  "_plain/x3.png": ["rgb", 31, 30],
  ".hidden/k.png": ["rgb", 10, 10],
  "stray.png": ["rgb", 10, 12],
};

/** Writes {@linkcode TREE} into a new temporary folder and returns its path. */
export async function makeTree(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "acmc-loader-" });
  let seed = 1;
  for (const [rel, spec] of Object.entries(TREE)) {
    const path = join(root, rel);
    await Deno.mkdir(dirname(path), { recursive: true });
    if (typeof spec === "string") await Deno.writeTextFile(path, spec);
    else await Deno.writeFile(path, await encode(spec[0], spec[1], spec[2], seed++));
  }
  // a symlinked folder: walked only with followLinks
  await Deno.symlink(join(root, "_plain"), join(root, "Árchie", "linked"));
  return root;
}

/** What {@linkcode classTree} writes. */
export interface ClassTreeOptions {
  /** Class folder names. */
  classes: string[];
  /** PNGs per class: `<i>.png`, RGB, (20 + i) x `height` px, seeds 1, 2, … across classes. */
  perClass: number;
  /** Image height in px. */
  height: number;
  /** The temporary folder's name prefix. */
  prefix: string;
  /** Further files, by path relative to the root (their folders must exist). */
  extra?: Record<string, Uint8Array>;
}

/** Writes a tree of class folders holding good PNGs (plus `extra`) into a new temporary folder. */
export async function classTree(o: ClassTreeOptions): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: o.prefix });
  let seed = 1;
  for (const cls of o.classes) {
    await Deno.mkdir(join(root, cls));
    for (let i = 0; i < o.perClass; i++) {
      await Deno.writeFile(
        join(root, cls, `${i}.png`),
        await encode("rgb", 20 + i, o.height, seed++),
      );
    }
  }
  for (const [rel, bytes] of Object.entries(o.extra ?? {})) {
    await Deno.writeFile(join(root, rel), bytes);
  }
  return root;
}

/** A snapshot of a folder (paths, sizes, mtimes) to prove nothing was written there. */
export async function snapshot(dir: string): Promise<string> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      const st = await Deno.lstat(p);
      out.push(`${p} ${st.size} ${st.mtime?.getTime()}`);
      if (e.isDirectory) await walk(p);
    }
  };
  await walk(dir);
  return out.sort().join("\n");
}

/** Every pixel value of one pass over `ds`, in order (each batch disposed after reading). */
export async function pixelsOf(ds: ImageDataset): Promise<number[]> {
  const xs: number[] = [];
  for await (const { x, y } of ds) {
    xs.push(...x.dataSync());
    x.dispose();
    y?.dispose();
  }
  return xs;
}
