/**
 * classifyImage: the model sees exactly the loader's pixels (every file of the
 * loader's varied test tree: PNG kinds, JPEG, GIF, BMP, odd sizes; plain resize
 * and crop-to-aspect-ratio), the top-k are the most probable classes in
 * order, and bad input is named.
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { makeTree } from "./data_fixtures.ts";
import { initEngine, tf } from "../lib/engine/mod.ts";
import { imageDatasetFromDirectory } from "../lib/data/mod.ts";
import { classifyImage } from "../lib/train/mod.ts";

const H = 24, W = 20;

/** A "classifier" whose outputs are its input pixels: classifyImage then hands back the pixels. */
function pixelModel(): tf.LayersModel {
  const input = tf.input({ shape: [H, W, 3] });
  const out = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

Deno.test("classifyImage: the model gets the same pixels as from imageDatasetFromDirectory", async () => {
  await initEngine({ quiet: true });
  const root = await makeTree();
  try {
    const model = pixelModel();
    for (const cropToAspectRatio of [false, true]) {
      const ds = await imageDatasetFromDirectory(root, {
        imageSize: [H, W],
        batchSize: 5,
        shuffle: false,
        labelMode: null,
        cropToAspectRatio,
        verbose: false,
      });
      let i = 0;
      for await (const { x } of ds) {
        const rows = await x.reshape([x.shape[0], -1]).array() as number[][];
        x.dispose();
        for (const row of rows) {
          const file = ds.filePaths[i++];
          const c = await classifyImage(model, file, { topK: 1, cropToAspectRatio });
          assert(
            c.probabilities.length === row.length && c.probabilities.every((v, j) => v === row[j]),
            `${file} (crop ${cropToAspectRatio}): pixels differ from the loader's`,
          );
        }
      }
      assert(i >= 25, `only ${i} files compared`);
    }
    model.dispose();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("classifyImage: the top-k classes, most probable first, with their probabilities", async () => {
  await initEngine({ quiet: true });
  const root = await makeTree();
  try {
    const input = tf.input({ shape: [H, W, 3] });
    const flat = tf.layers.flatten().apply(input);
    const out = tf.layers.dense({
      units: 5,
      activation: "softmax",
      kernelInitializer: tf.initializers.randomNormal({ stddev: 0.01, seed: 3 }),
    }).apply(flat) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    const file = join(root, "Árchie", "Z.png");
    const names = ["a", "b", "c", "d", "e"];
    const c = await classifyImage(model, file, { classNames: names, topK: 3, imageSize: [H, W] });
    assertEquals(c.file, file);
    assertEquals(c.top.length, 3);
    const order = c.probabilities.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]);
    assertEquals(c.top.map((t) => t.classIndex), order.slice(0, 3).map(([, i]) => i));
    assertEquals(c.top.map((t) => t.className), order.slice(0, 3).map(([, i]) => names[i]));
    assertEquals(c.top.map((t) => t.probability), order.slice(0, 3).map(([p]) => p));
    assert(Math.abs(c.probabilities.reduce((s, p) => s + p, 0) - 1) < 1e-5);
    assert(c.top[0].probability > c.top[2].probability, "the random model ranks the classes");
    // topK larger than the classes: all of them; default names are the indices
    const all = await classifyImage(model, file, { topK: 9 });
    assertEquals(all.top.map((t) => t.className).sort(), ["0", "1", "2", "3", "4"]);

    // bad input is named
    await assert.rejects(
      () => classifyImage(model, join(root, "nope.png")),
      (e: Error) => e.message.includes(join(root, "nope.png")),
    );
    await assert.rejects(
      () => classifyImage(model, join(root, "Betty Cooper", "readme.txt")),
      (e: Error) => e.message.includes("readme.txt") && e.message.includes("unknown image format"),
    );
    await assert.rejects(
      () => classifyImage(model, file, { classNames: ["a", "b"] }),
      /classNames has 2 names but the model has 5 classes/,
    );
    await assert.rejects(() => classifyImage(model, file, { topK: 0 }), /topK must be/);
    model.dispose();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
