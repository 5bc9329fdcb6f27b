import assert, { deepStrictEqual as assertEquals, notDeepStrictEqual } from "node:assert/strict";
import { initEngine, tf } from "../lib/engine/mod.ts";
import {
  augmentation,
  augmentImages,
  type AugmentOptions,
  drawParams,
  rotateImages,
} from "../lib/data/augment.ts";

await initEngine();

const OFF: AugmentOptions = {
  flip: false,
  crop: false,
  rotation: 0,
  brightness: 0,
  contrast: 0,
  saturation: 0,
};

/** A batch of smooth, distinct test pictures in [lo, hi] (gradients + a blob per image). */
function pictures(b: number, h: number, w: number, lo = 0, hi = 255): tf.Tensor4D {
  const data = new Float32Array(b * h * w * 3);
  let k = 0;
  for (let n = 0; n < b; n++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const blob = Math.exp(-((i - h / 3) ** 2 + (j - (n + 1) * w / (b + 2)) ** 2) / 8);
        const v = [j / (w - 1), i / (h - 1), blob];
        for (let c = 0; c < 3; c++) data[k++] = lo + (hi - lo) * ((v[c] + n * 0.05) % 1);
      }
    }
  }
  return tf.tensor4d(data, [b, h, w, 3]);
}

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

Deno.test("same seed + epoch + step gives identical images; other step/epoch/seed differ", () => {
  const x = pictures(4, 24, 20);
  const run = (epoch: number, step: number, seed = 7) =>
    augmentImages(x, { epoch, step }, { seed });
  const a = run(0, 0);
  const a2 = run(0, 0);
  assertEquals(Array.from(a.dataSync()), Array.from(a2.dataSync()));
  const others = [run(0, 1), run(1, 0), run(0, 0, 8)];
  for (const o of others) assert(maxAbsDiff(a, o) > 10, "a different draw gives other images");
  tf.dispose([x, a, a2, ...others]);
  // The draws themselves are plain JS and reproducible.
  assertEquals(
    drawParams(3, [24, 20], { epoch: 2, step: 5 }, { seed: 1 }),
    drawParams(3, [24, 20], { epoch: 2, step: 5 }, { seed: 1 }),
  );
  notDeepStrictEqual(
    drawParams(3, [24, 20], { epoch: 2, step: 5 }, { seed: 1 }),
    drawParams(3, [24, 20], { epoch: 2, step: 6 }, { seed: 1 }),
  );
});

Deno.test("augmentation really changes images and keeps shape, dtype and the 0-255 range", () => {
  const x = pictures(6, 32, 32);
  const y = augmentImages(x, { epoch: 0, step: 0 }, { brightness: 0.5, contrast: 0.5 });
  assertEquals(y.shape, x.shape);
  assertEquals(y.dtype, "float32");
  const [min, max] = tf.tidy(() => [tf.min(y).dataSync()[0], tf.max(y).dataSync()[0]]);
  assert(min >= 0 && max <= 255, `range ${min}..${max}`);
  // Every image of the batch is changed (not the identity).
  for (let n = 0; n < 6; n++) {
    const d = tf.tidy(() =>
      tf.mean(tf.abs(tf.sub(y.slice([n], [1]), x.slice([n], [1])))).dataSync()[0]
    );
    assert(d > 2, `image ${n} barely changed (mean |diff| ${d})`);
  }
  // With every transform off it is the identity.
  const same = augmentImages(x, { epoch: 0, step: 0 }, OFF);
  assertEquals(maxAbsDiff(same, x), 0);
  tf.dispose([x, y, same]);
});

Deno.test("flips mirror exactly the drawn images and leave the others alone", () => {
  const x = pictures(8, 12, 16);
  const opts = { ...OFF, flip: true, seed: 3 };
  const p = drawParams(8, [12, 16], { epoch: 0, step: 0 }, opts);
  assert(p.some((q) => q.flip) && p.some((q) => !q.flip), "8 coin flips give both outcomes");
  const y = augmentImages(x, { epoch: 0, step: 0 }, opts);
  const mirrored = tf.image.flipLeftRight(x);
  for (const [n, q] of p.entries()) {
    const want = (q.flip ? mirrored : x).slice([n], [1]);
    assert(maxAbsDiff(y.slice([n], [1]), want) < 1e-3, `image ${n} (flip ${q.flip})`);
  }
  tf.dispose([x, y, mirrored]);
});

Deno.test("random resized crops stay inside the image and follow scale and ratio", () => {
  const crop = { scale: [0.5, 0.8] as [number, number], ratio: [0.75, 4 / 3] as [number, number] };
  const p = drawParams(200, [40, 60], { epoch: 1, step: 2 }, { ...OFF, crop });
  for (const { box: [y1, x1, y2, x2] } of p) {
    assert(0 <= y1 && y1 < y2 && y2 <= 1 && 0 <= x1 && x1 < x2 && x2 <= 1);
    const area = (y2 - y1) * (x2 - x1);
    assert(area >= 0.5 - 1e-9 && area <= 0.8 + 1e-9, `area ${area}`);
    const ratio = ((x2 - x1) * 60) / ((y2 - y1) * 40);
    assert(ratio >= 0.75 - 1e-9 && ratio <= 4 / 3 + 1e-9, `ratio ${ratio}`);
  }
  // scale 1 and ratio 1 on a square image: the whole image.
  const x = pictures(3, 8, 8);
  const full = { scale: [1, 1] as [number, number], ratio: [1, 1] as [number, number] };
  const y = augmentImages(x, { epoch: 0, step: 0 }, { ...OFF, crop: full });
  assertEquals(maxAbsDiff(x, y), 0);
  // Crop + flip equal the drawn box cropped, then mirrored, image by image.
  const opts = { ...OFF, crop, flip: true, seed: 5 };
  const q = drawParams(3, [8, 8], { epoch: 4, step: 1 }, opts);
  const z = augmentImages(x, { epoch: 4, step: 1 }, opts);
  for (const [n, { box, flip }] of q.entries()) {
    const want = tf.tidy(() => {
      const c = tf.image.cropAndResize(x.slice([n], [1]), [box], [0], [8, 8]);
      return flip ? tf.image.flipLeftRight(c) : c;
    });
    assert(maxAbsDiff(z.slice([n], [1]), want) < 1e-3, `image ${n}`);
    want.dispose();
  }
  assert(maxAbsDiff(z, x) > 5);
  tf.dispose([x, y, z]);
});

Deno.test("rotation by 90 degrees turns the picture counter-clockwise; 0 is the identity", () => {
  const x = pictures(2, 9, 9);
  const r = rotateImages(x, [Math.PI / 2, 0]);
  const xs = x.arraySync();
  const rs = r.arraySync();
  for (let i = 0; i < 9; i++) {
    for (let j = 0; j < 9; j++) {
      for (let c = 0; c < 3; c++) {
        assert(Math.abs(rs[0][i][j][c] - xs[0][j][8 - i][c]) < 1e-2, `rot90 at ${i},${j}`);
        assert(Math.abs(rs[1][i][j][c] - xs[1][i][j][c]) < 1e-3, `rot0 at ${i},${j}`);
      }
    }
  }
  // A small rotation moves pixels but keeps the values in the image's range (reflect fill).
  const s = rotateImages(x, [0.15, -0.15]);
  assert(maxAbsDiff(s, x) > 5);
  const [lo, hi] = tf.tidy(() => [tf.min(s).dataSync()[0], tf.max(s).dataSync()[0]]);
  const [xlo, xhi] = tf.tidy(() => [tf.min(x).dataSync()[0], tf.max(x).dataSync()[0]]);
  assert(lo >= xlo - 1e-3 && hi <= xhi + 1e-3);
  tf.dispose([x, r, s]);
});

Deno.test("colour jitter: brightness shifts, contrast keeps the mean, gray stays gray", () => {
  const x = pictures(4, 10, 10, 60, 190);
  const ctx = { epoch: 0, step: 3 };
  const b = augmentImages(x, ctx, { ...OFF, brightness: 0.1 });
  const p = drawParams(4, [10, 10], ctx, { ...OFF, brightness: 0.1 });
  for (const [n, q] of p.entries()) {
    const d = tf.tidy(() => tf.sub(b.slice([n], [1]), x.slice([n], [1])));
    const [dmin, dmax] = [d.min().dataSync()[0], d.max().dataSync()[0]];
    assert(Math.abs(dmin - q.brightness) < 1e-3 && Math.abs(dmax - q.brightness) < 1e-3);
    d.dispose();
  }
  const c = augmentImages(x, ctx, { ...OFF, contrast: 0.3 });
  const means = (t: tf.Tensor) => tf.tidy(() => Array.from(tf.mean(t, [1, 2]).dataSync()));
  means(c).forEach((m, i) => assert(Math.abs(m - means(x)[i]) < 1e-2));
  assert(maxAbsDiff(c, x) > 1);
  const gray = tf.tidy(() => tf.tile(tf.image.rgbToGrayscale(x), [1, 1, 1, 3])) as tf.Tensor4D;
  const g = augmentImages(gray, ctx, { ...OFF, saturation: 0.5 });
  assert(maxAbsDiff(g, gray) < 1e-3);
  const s = augmentImages(x, ctx, { ...OFF, saturation: 0.5 });
  assert(maxAbsDiff(s, x) > 1);
  tf.dispose([x, b, c, gray, g, s]);
});

Deno.test("the map hook augments x, passes labels through, and leaks no tensors", () => {
  const map = augmentation({ seed: 11 });
  const before = tf.memory().numTensors;
  for (let step = 0; step < 3; step++) {
    const x = pictures(4, 16, 16);
    const y = tf.tensor1d([3, 1, 4, 1], "int32");
    const xCopy = x.clone();
    const out = map({ x, y }, { epoch: 0, step });
    assert(out.y === y, "labels are the same tensor");
    assertEquals(Array.from(out.y!.dataSync()), [3, 1, 4, 1]);
    assert(x.isDisposed, "the input images are released");
    assert(maxAbsDiff(out.x, xCopy) > 1);
    tf.dispose([out.x, out.y!, xCopy]);
  }
  const z = pictures(2, 8, 8);
  const a = augmentImages(z, { epoch: 0, step: 0 });
  tf.dispose([a, z]);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("bad options and inputs get clear errors", () => {
  const x = pictures(1, 4, 4);
  assert.throws(() => augmentImages(x, { epoch: 0, step: 0 }, { rotation: -1 }), /rotation/);
  assert.throws(
    () => augmentImages(x, { epoch: 0, step: 0 }, { crop: { scale: [0.9, 0.5], ratio: [1, 1] } }),
    /crop.scale/,
  );
  const xi = x.toInt() as tf.Tensor4D;
  assert.throws(() => augmentImages(xi, { epoch: 0, step: 0 }), /float32/);
  tf.dispose([x, xi]);
});

/** Tiny PNG class folders in a temp dir: `n` images of 12x10 per class. */
async function tinyFolder(classes: string[], n: number): Promise<string> {
  const { default: sharp } = await import("sharp");
  const dir = await Deno.makeTempDir({ prefix: "acmc-augment-" });
  for (const [c, name] of classes.entries()) {
    await Deno.mkdir(`${dir}/${name}`);
    for (let i = 0; i < n; i++) {
      const px = new Uint8Array(12 * 10 * 3);
      for (let k = 0; k < px.length; k++) px[k] = (k * (7 + c) + i * 31) % 256;
      await sharp(px, { raw: { width: 10, height: 12, channels: 3 } }).png()
        .toFile(`${dir}/${name}/${name}_${i}.png`);
    }
  }
  return dir;
}

async function collect(ds: AsyncIterable<{ x: tf.Tensor4D; y: tf.Tensor | null }>) {
  const xs: number[][] = [];
  const ys: number[][] = [];
  for await (const b of ds) {
    xs.push(Array.from(b.x.dataSync()));
    ys.push(Array.from(b.y!.dataSync()));
    tf.dispose([b.x, b.y!]);
  }
  return { xs, ys };
}

Deno.test("with the loader: training batches are augmented, validation batches never", async () => {
  const { datasetFromFiles, imageDatasetFromDirectory } = await import("../lib/data/dataset.ts");
  const dir = await tinyFolder(["a", "b", "c"], 5);
  try {
    const common = {
      validationSplit: 0.2,
      subset: "both" as const,
      seed: 123,
      batchSize: 4,
      imageSize: [12, 10] as [number, number],
      verbose: false,
    };
    const before = tf.memory().numTensors;
    const [trainA, validA] = await imageDatasetFromDirectory(dir, {
      ...common,
      map: augmentation({ seed: 1 }),
    });
    const [trainP, validP] = await imageDatasetFromDirectory(dir, common);
    assertEquals(validA.filePaths, validP.filePaths);
    const [ta, tp] = [await collect(trainA), await collect(trainP)];
    assertEquals(ta.ys, tp.ys, "labels untouched, same batch order");
    assert(ta.xs.some((x, i) => x.some((v, j) => Math.abs(v - tp.xs[i][j]) > 1)), "augmented");
    const [va, vp] = [await collect(validA), await collect(validP)];
    assertEquals(va, vp, "validation batches are not augmented");
    // Epoch 2 draws other augmentations than epoch 1 (new ctx.epoch).
    const ta2 = await collect(trainA);
    assert(ta2.xs.flat().some((v, j) => v !== ta.xs.flat()[j]));
    // datasetFromFiles: the map runs only where it is given.
    const files = datasetFromFiles(validP.filePaths, validP.labels, validP.classNames, {
      batchSize: 4,
      imageSize: [12, 10],
      map: augmentation({ seed: 1 }),
    });
    const fa = await collect(files);
    assertEquals(fa.ys, vp.ys);
    assert(fa.xs.some((x, i) => x.some((v, j) => Math.abs(v - vp.xs[i][j]) > 1)));
    assertEquals(tf.memory().numTensors, before, "no tensor leaks through the loader");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
