/**
 * The loader against real Keras 3 (tests/oracles/keras_dataset.py): numpy's
 * shuffle, file lists, labels, class names, split and cardinality, argument
 * errors, and pixels (mean absolute difference on the 0-255 scale).
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { ACMC_CLASSES, ACMC_COUNTS } from "../lib/reference/mod.ts";
import { initEngine, tf } from "../lib/engine/mod.ts";
import { runOracle } from "./_python.ts";
import { makeTree, TREE } from "./data_fixtures.ts";
import {
  datasetFromFiles,
  decodeImage,
  GraphDecoder,
  imageDatasetFromDirectory,
  type ImageDatasetOptions,
  resizeImage,
} from "../lib/data/mod.ts";
import { legacyShuffle } from "../lib/random/mod.ts";

// The native engine: JPEGs decode with TensorFlow's own kernel, as in Keras.
await initEngine();

/** A test on a fresh copy of the fixture tree (tests/data_fixtures.ts), removed afterwards. */
function treeTest(name: string, fn: (root: string) => Promise<void>): void {
  Deno.test(name, async () => {
    const root = await makeTree();
    try {
      await fn(root);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
}

/** The error a promise rejects with (fails when it resolves). */
export async function rejects(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return e as Error;
  }
  throw new assert.AssertionError({ message: "expected a rejection" });
}

Deno.test("legacyShuffle equals np.random.RandomState(seed).shuffle", async () => {
  const cases: [number, number][] = [];
  for (const n of [0, 1, 2, 3, 5, 17, 100, 255, 256, 257, 1000, 6462]) {
    for (const seed of [0, 1, 42, 123, 999999, 2 ** 31 + 7, 2 ** 32 - 1]) cases.push([n, seed]);
  }
  const { orders } = await runOracle<{ orders: number[][] }>("keras_dataset.py", {
    op: "shuffle",
    cases,
  });
  cases.forEach(([n, seed], k) => {
    const ours = legacyShuffle(Array.from({ length: n }, (_, i) => i), seed);
    assertEquals(ours, orders[k], `n=${n} seed=${seed}`);
  });
});

type KerasDs = {
  file_paths: string[];
  class_names: string[] | null;
  labels: number[] | null;
  cardinality: number;
};
type KerasResult = { datasets?: KerasDs[]; error?: string };

/** Keras kwargs (snake_case) for our camelCase options. */
function kerasArgs(o: ImageDatasetOptions): Record<string, unknown> {
  const map: Record<string, string> = {
    labelMode: "label_mode",
    classNames: "class_names",
    batchSize: "batch_size",
    imageSize: "image_size",
    validationSplit: "validation_split",
    followLinks: "follow_links",
    colorMode: "color_mode",
  };
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [map[k] ?? k, v]));
}

const CASES: ImageDatasetOptions[] = [
  { shuffle: false },
  { seed: 123 },
  { seed: 7, batchSize: 4 },
  { seed: 123, validationSplit: 0.2, subset: "training", batchSize: 8 },
  { seed: 123, validationSplit: 0.2, subset: "validation", batchSize: 8 },
  { seed: 5, validationSplit: 0.3, subset: "both", batchSize: 3 },
  { shuffle: false, validationSplit: 0.25, subset: "both" },
  { seed: 1, classNames: ["Árchie", "Betty Cooper"], labelMode: "categorical" },
  { seed: 1, classNames: ["Árchie", "Betty Cooper"], labelMode: "binary" },
  { seed: 11, labels: null },
  { seed: 2, labelMode: null, validationSplit: 0.5, subset: "training" },
  { seed: 3, batchSize: null },
  { seed: 4, followLinks: true },
  { seed: 4, followLinks: true, labels: null },
];

treeTest("file lists, labels, class names, split and cardinality equal Keras'", async (root) => {
  const { results } = await runOracle<{ results: KerasResult[] }>("keras_dataset.py", {
    op: "index",
    directory: root,
    cases: CASES.map((c) => kerasArgs({ ...c, imageSize: [8, 8] })),
  });
  for (let k = 0; k < CASES.length; k++) {
    const opts = { ...CASES[k], imageSize: [8, 8] as [number, number], verbose: false };
    const r = results[k];
    assert(r.datasets, `Keras failed on ${JSON.stringify(CASES[k])}: ${r.error}`);
    const ours = await imageDatasetFromDirectory(root, opts as ImageDatasetOptions);
    const list = Array.isArray(ours) ? ours : [ours];
    assertEquals(list.length, r.datasets.length);
    list.forEach((ds, i) => {
      const ref = r.datasets![i];
      const what = `${JSON.stringify(CASES[k])} #${i}`;
      assertEquals(ds.filePaths, ref.file_paths, what);
      assertEquals(ds.labelMode ? ds.labels : null, ref.labels, what);
      assertEquals(ds.classNames, ref.class_names ?? [], what);
      assertEquals(ds.cardinality, ref.cardinality, what);
    });
  }
  // the tree's pitfalls really are in the lists
  const all = await imageDatasetFromDirectory(root, { shuffle: false, verbose: false });
  const rel = all.filePaths.map((p) => p.slice(root.length + 1));
  assert(rel.includes("Betty Cooper/b b.PNG") && rel.includes("Árchie/i.JPEG"));
  assert(!rel.some((p) => p.endsWith(".txt") || p.endsWith(".bak") || p.startsWith(".hidden")));
  assert(rel.indexOf("Betty Cooper/sub-x/e.png") < rel.indexOf("Betty Cooper/sub/deeper/c2.png"));
  assert(rel.indexOf("Zoë ünï/\uff41.png") < rel.indexOf("Zoë ünï/😀.png"));
  assertEquals(all.classNames, ["Betty Cooper", "Zoë ünï", "_plain", "Árchie"]);
  assert(!rel.some((p) => p.includes("linked")));
  const linked = await imageDatasetFromDirectory(root, {
    shuffle: false,
    followLinks: true,
    verbose: false,
  });
  assert(linked.filePaths.some((p) => p.includes("Árchie/linked/x1.png")));
});

treeTest("explicit integer labels and Keras' argument errors", async (root) => {
  const n =
    (await imageDatasetFromDirectory(root, { shuffle: false, labels: null, verbose: false }))
      .filePaths.length;
  const labels = Array.from({ length: n }, (_, i) => (i * 7) % 3);
  const bad: [ImageDatasetOptions, RegExp][] = [
    [{ validationSplit: 0.2, subset: "training" }, /must provide a `seed`/],
    [{ subset: "training", seed: 1 }, /`validationSplit` must be set/],
    [{ validationSplit: 0.2, seed: 1 }, /`validationSplit` must be set/],
    [{ validationSplit: 1.5, subset: "training", seed: 1 }, /between 0 and 1/],
    [{ labelMode: "binary", seed: 1 }, /exactly 2/],
    [{ labels: [0, 1], seed: 1 }, /lengths of `labels`/],
    [{ labels, classNames: ["a"], seed: 1 }, /only pass `classNames`/],
    [{ classNames: ["nope"], seed: 1 }, /did not match/],
    [{ labelMode: "sparse" as unknown as "int", seed: 1 }, /labelMode/],
    [{ colorMode: "cmyk" as unknown as "rgb", seed: 1 }, /colorMode/],
    [{ interpolation: "cubic" as unknown as "nearest", seed: 1 }, /interpolation/],
    [{ subset: "test" as unknown as "both", validationSplit: 0.2, seed: 1 }, /subset/],
  ];
  const { results } = await runOracle<{ results: KerasResult[] }>("keras_dataset.py", {
    op: "index",
    directory: root,
    cases: [
      { labels, shuffle: true, seed: 9, validation_split: 0.2, subset: "validation" },
      ...bad.map(([o]) => kerasArgs(o)),
    ],
  });
  const ours = await imageDatasetFromDirectory(root, {
    labels,
    seed: 9,
    validationSplit: 0.2,
    subset: "validation",
    verbose: false,
  });
  assertEquals(ours.filePaths, results[0].datasets![0].file_paths);
  assertEquals(ours.labels, results[0].datasets![0].labels);
  assertEquals(ours.classNames, results[0].datasets![0].class_names);
  for (let k = 0; k < bad.length; k++) {
    const [o, re] = bad[k];
    assert(results[k + 1].error, `Keras accepted ${JSON.stringify(o)}`);
    const e = await rejects(() => imageDatasetFromDirectory(root, { ...o, verbose: false }));
    assert(re.test((e as Error).message), `${JSON.stringify(o)}: ${(e as Error).message}`);
  }
});

function b64f32(s: string): Float32Array {
  const b = Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  return new Float32Array(b.buffer);
}

/** The image files of the fixture tree under `root`, with their kind. */
const imageFiles = (root: string) =>
  Object.entries(TREE)
    .filter(([rel, spec]) => typeof spec !== "string" && !rel.startsWith(".hidden"))
    .map(([rel, spec]) => ({ path: join(root, rel), kind: (spec as [string, number, number])[0] }));

type Opts = {
  cropToAspectRatio?: boolean;
  padToAspectRatio?: boolean;
  interpolation?: "nearest";
};

treeTest("pixels equal Keras' _load_image_tf (mean abs diff, 0-255)", async (root) => {
  // Measured on this tree (the test logs it): 0.000 (exact up to float32
  // rounding) for every kind (PNG 8/16-bit, grey, grey+alpha, RGBA, palette; GIF;
  // BMP; JPEG colour, grey and CMYK) in every mode, 1, 3 and 4 channels, crop and
  // pad. JPEGs are exact because the native engine decodes them with TF's own
  // kernel; the libvips fallback (pure-JS engine) is tested below.
  const configs = [
    { channels: 3, size: [48, 40], opts: {} },
    { channels: 3, size: [32, 32], opts: { cropToAspectRatio: true } },
    { channels: 3, size: [30, 50], opts: { padToAspectRatio: true } },
    { channels: 3, size: [25, 19], opts: { interpolation: "nearest" as const } },
    {
      channels: 1,
      size: [20, 20],
      opts: {},
      only: ["rgb", "rgba", "grey", "greya", "palette"],
    },
    {
      channels: 4,
      size: [20, 20],
      opts: {},
      only: ["rgb", "rgba", "grey", "greya", "palette", "rgb16"],
    },
  ];
  const jobs = configs.map((cfg) => {
    const o = cfg.opts as Opts;
    return {
      files: imageFiles(root).filter((f) => !cfg.only || cfg.only.includes(f.kind)).map((f) =>
        f.path
      ),
      channels: cfg.channels,
      image_size: cfg.size,
      crop: !!o.cropToAspectRatio,
      pad: !!o.padToAspectRatio,
      interpolation: o.interpolation ?? "bilinear",
    };
  });
  const { results } = await runOracle<
    { results: { images: { shape: number[]; data?: string; error?: string }[] }[] }
  >("keras_dataset.py", { op: "pixels", jobs });
  for (const [j, cfg] of configs.entries()) {
    const files = imageFiles(root).filter((f) => !cfg.only || cfg.only.includes(f.kind));
    const o = cfg.opts as Opts;
    const { images } = results[j];
    let total = 0;
    let count = 0;
    const byKind = new Map<string, number[]>();
    for (let k = 0; k < files.length; k++) {
      const ref = images[k];
      assert(ref.data, `Keras failed on ${files[k].path}: ${ref.error}`);
      const want = b64f32(ref.data);
      const img = await decodeImage(await Deno.readFile(files[k].path), {
        channels: cfg.channels as 1 | 3 | 4,
        file: files[k].path,
      });
      const got = resizeImage(img, cfg.size as [number, number], o);
      assertEquals(got.length, want.length, files[k].path);
      let s = 0;
      for (let i = 0; i < got.length; i++) s += Math.abs(got[i] - want[i]);
      const mad = s / got.length;
      assert(mad < 1e-3, `${files[k].path} ${JSON.stringify(cfg)}: mean abs diff ${mad}`);
      total += s;
      count += got.length;
      byKind.set(files[k].kind, [...(byKind.get(files[k].kind) ?? []), mad]);
    }
    const worst = [...byKind].map(([kind, m]) => `${kind} ${Math.max(...m).toFixed(3)}`);
    console.log(
      `${cfg.channels}ch ${cfg.size.join("x")} ${JSON.stringify(o)}: overall ` +
        `${(total / count).toFixed(3)}; worst per kind: ${worst.join(", ")}`,
    );
    assert(
      total / count < 1e-3,
      `overall mean abs diff ${total / count} for ${JSON.stringify(cfg)}`,
    );
  }
});

treeTest(
  "without the native engine JPEGs decode with libvips: within 2.5 levels of Keras",
  async (root) => {
    // libvips uses libjpeg's accurate IDCT, TF's decode_image the fast one: worst
    // file measured 1.6-2.0 (2.5 for CMYK, TF's integer CMYK->RGB); PNG stays exact.
    const files = imageFiles(root).filter((f) =>
      ["jpeg", "greyjpeg", "cmyk", "rgb"].includes(f.kind)
    );
    const { results } = await runOracle<
      { results: { images: { data?: string; error?: string }[] }[] }
    >("keras_dataset.py", {
      op: "pixels",
      jobs: [{
        files: files.map((f) => f.path),
        channels: 3,
        image_size: [48, 40],
        crop: false,
        pad: false,
        interpolation: "bilinear",
      }],
    });
    const native = tf.getBackend();
    await tf.setBackend("cpu");
    try {
      for (const [k, f] of files.entries()) {
        const want = b64f32(results[0].images[k].data!);
        const img = await decodeImage(await Deno.readFile(f.path), { channels: 3, file: f.path });
        const got = resizeImage(img, [48, 40]);
        let s = 0;
        for (let i = 0; i < got.length; i++) s += Math.abs(got[i] - want[i]);
        const limit = f.kind === "cmyk" ? 3.0 : f.kind === "rgb" ? 1e-3 : 2.5;
        assert(s / got.length < limit, `${f.path}: mean abs diff ${s / got.length}`);
      }
    } finally {
      await tf.setBackend(native);
    }
  },
);

treeTest(
  "batches carry the pixels and labels Keras yields, in order when not shuffled",
  async (root) => {
    const ds = await imageDatasetFromDirectory(root, {
      shuffle: false,
      batchSize: 5,
      imageSize: [24, 24],
      labelMode: "categorical",
      verbose: false,
    });
    const { images } = await runOracle<{ images: { data: string }[] }>("keras_dataset.py", {
      op: "pixels",
      files: ds.filePaths,
      channels: 3,
      image_size: [24, 24],
    });
    let i = 0;
    let batches = 0;
    for await (const { x, y } of ds) {
      assertEquals(x.shape.slice(1), [24, 24, 3]);
      const xs = x.dataSync();
      const ys = y!.arraySync() as number[][];
      for (let b = 0; b < x.shape[0]; b++, i++) {
        const want = b64f32(images[i].data);
        let s = 0;
        for (let j = 0; j < want.length; j++) s += Math.abs(xs[b * want.length + j] - want[j]);
        assert(s / want.length < 1e-3, `${ds.filePaths[i]}: ${s / want.length}`);
        assertEquals(ys[b].indexOf(1), ds.labels[i]);
        assertEquals(ys[b].reduce((a, v) => a + v, 0), 1);
      }
      x.dispose();
      y!.dispose();
      batches++;
    }
    assertEquals(i, ds.filePaths.length);
    assertEquals(batches, ds.cardinality);
  },
);

treeTest(
  "graph batches, graph runs per image, decode workers and the main thread yield Keras' pixels exactly (max abs diff 0)",
  async (root) => {
    // TensorFlow's DecodeImage + ResizeBilinear / ResizeNearestNeighbor, as Keras runs
    // them, after smart_resize's crop or before resize_with_pad's padding, 1, 3 and 4
    // channels: on the main thread (workers 0), in TensorFlow graph runs
    // and in workers (workers 2)
    const configs: { channels: 1 | 3 | 4; size: [number, number]; opts: Opts; only?: string[] }[] =
      [
        { channels: 3, size: [24, 20], opts: {} },
        { channels: 3, size: [24, 20], opts: { interpolation: "nearest" } },
        { channels: 3, size: [16, 16], opts: { cropToAspectRatio: true } },
        { channels: 3, size: [15, 25], opts: { padToAspectRatio: true } },
        {
          channels: 1,
          size: [12, 10],
          opts: {},
          only: ["rgb", "rgba", "grey", "greya", "palette"],
        },
        {
          channels: 4,
          size: [12, 10],
          opts: { padToAspectRatio: true },
          only: ["rgb", "rgba", "grey", "greya", "palette", "rgb16"],
        },
      ];
    const filesOf = (cfg: { only?: string[] }) =>
      imageFiles(root).filter((f) => !cfg.only || cfg.only.includes(f.kind)).map((f) => f.path);
    const { results } = await runOracle<
      { results: { images: { data?: string; error?: string }[] }[] }
    >("keras_dataset.py", {
      op: "pixels",
      jobs: configs.map((cfg) => ({
        files: filesOf(cfg),
        channels: cfg.channels,
        image_size: cfg.size,
        crop: !!cfg.opts.cropToAspectRatio,
        pad: !!cfg.opts.padToAspectRatio,
        interpolation: cfg.opts.interpolation ?? "bilinear",
      })),
    });
    for (const [j, cfg] of configs.entries()) {
      const files = filesOf(cfg);
      const { images } = results[j];
      // main thread (one graph run per image there); whole batches in one
      // graph run; one graph run per image elsewhere (`onBadFile: "skip"` goes
      // image by image); worker threads (the addon's eager ops, no graph)
      const paths = [
        { name: "main thread", opts: { workers: 0 }, graph: true },
        { name: "graph batches", opts: { workers: 2 }, graph: true },
        { name: "graph per image", opts: { workers: 2, onBadFile: "skip" as const }, graph: true },
        { name: "worker threads", opts: { workers: 2 }, env: { ACMC_DECODE_GRAPH: "0" } },
      ];
      for (const path of paths) {
        for (const [k, v] of Object.entries(path.env ?? {})) Deno.env.set(k, v);
        const before = GraphDecoder.totals().decoded;
        const ds = datasetFromFiles(files, null, [], {
          batchSize: 7,
          imageSize: cfg.size,
          colorMode: cfg.channels === 1 ? "grayscale" : cfg.channels === 4 ? "rgba" : "rgb",
          ...cfg.opts,
          ...path.opts,
        });
        const what = `${JSON.stringify(cfg.opts)}, ${cfg.channels} channels, ${path.name}`;
        let i = 0;
        for await (const { x } of ds) {
          const xs = x.dataSync();
          const per = xs.length / x.shape[0];
          for (let b = 0; b < x.shape[0]; b++, i++) {
            assert(images[i].data, `Keras failed on ${files[i]}: ${images[i].error}`);
            const want = b64f32(images[i].data!);
            assertEquals(want.length, per, `${files[i]} (${what})`);
            let worst = 0;
            for (let k = 0; k < per; k++) {
              worst = Math.max(worst, Math.abs(xs[b * per + k] - want[k]));
            }
            assertEquals(worst, 0, `${files[i]} (${what})`);
          }
          x.dispose();
        }
        assertEquals(i, files.length);
        for (const k of Object.keys(path.env ?? {})) Deno.env.delete(k);
        const byGraph = GraphDecoder.totals().decoded - before;
        if (path.graph) assertEquals(byGraph, files.length, `${what}: decoded in graph runs`);
        else assertEquals(byGraph, 0, `${what}: no graph run`);
      }
    }
  },
);

treeTest("datasetFromFiles: explicit lists, int and binary labels", async (root) => {
  const files = imageFiles(root).filter((f) => f.kind === "rgb").map((f) => f.path);
  const labels = files.map((_, i) => i % 2);
  const ds = datasetFromFiles(files, labels, ["a", "b"], {
    batchSize: 4,
    imageSize: 8,
    labelMode: "binary",
  });
  assertEquals(ds.cardinality, Math.ceil(files.length / 4));
  assert.throws(
    () => datasetFromFiles(files, labels, ["a", "b"], { imageSize: [0, 3] }),
    /imageSize/,
  );
  const seen: number[] = [];
  for await (const { x, y } of ds) {
    assertEquals(y!.shape, [x.shape[0], 1]);
    seen.push(...(y!.dataSync() as Float32Array));
    x.dispose();
    y!.dispose();
  }
  assertEquals(seen, labels);
  const noLabels = datasetFromFiles(files, null, [], { batchSize: 3, imageSize: [8, 9] });
  for await (const { x, y } of noLabels) {
    assertEquals(y, null);
    assertEquals(x.shape.slice(1), [8, 9, 3]);
    x.dispose();
  }
});

Deno.test("the blog's split of ACMC's 6462 file names: Keras' 5170 / 1292 files, exactly", async () => {
  // The split depends on the file names only, so an ACMC-shaped tree of empty
  // files (the 23 folders, their exact counts, `<Class>_<NNN>.png`) is enough.
  const dir = await Deno.makeTempDir({ prefix: "acmc-split-" });
  try {
    for (const c of ACMC_CLASSES) {
      await Deno.mkdir(join(dir, c));
      for (let i = 1; i <= ACMC_COUNTS[c]; i++) {
        await Deno.writeFile(
          join(dir, c, `${c}_${String(i).padStart(3, "0")}.png`),
          new Uint8Array(),
        );
      }
    }
    const opts: ImageDatasetOptions = {
      labelMode: "categorical",
      classNames: [...ACMC_CLASSES], // the blog's label order
      validationSplit: 0.2,
      subset: "both",
      seed: 123,
      batchSize: 8,
      imageSize: [256, 256],
      verbose: false,
    };
    const [train, val] = await imageDatasetFromDirectory(dir, { ...opts, subset: "both" });
    const { results } = await runOracle<{ results: KerasResult[] }>("keras_dataset.py", {
      op: "index",
      directory: dir,
      cases: [kerasArgs(opts)],
    });
    const [kt, kv] = results[0].datasets!;
    assertEquals([train.size, val.size], [5170, 1292]);
    assertEquals(train.filePaths, kt.file_paths);
    assertEquals(val.filePaths, kv.file_paths);
    assertEquals(train.labels, kt.labels);
    assertEquals(val.labels, kv.labels);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
