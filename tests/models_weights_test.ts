/**
 * Weight-loading parity with Keras 3: the oracle builds a random-init
 * `keras.applications.ResNet50(weights=None, classes=23, input_shape=(64, 64, 3))`
 * with random gamma/beta and calibrated BatchNorm statistics, writes it in
 * every layout we read, and predicts on fixed random inputs; our model loading
 * each file must give the same outputs.
 *
 * Measured (CPU, native engine, Keras 3.15.1 on TF 2.21): max |softmax diff|
 * 3.8e-5 for each of legacy.h5, full.h5, model.weights.h5 and an untagged
 * .weights.h5; no-top avg features (values up to 12.8) differ by at most
 * 2.8e-4 absolute (2.2e-5 relative), from the tf.keras-2-style notop file and
 * from notop.weights.h5. Float32 sums in a different order over 50 layers.
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { runOracle } from "./_python.ts";
import { initEngine, tf } from "../lib/engine/mod.ts";
import {
  imagenetWeightsPath,
  KERAS_RESNET_WEIGHTS_URL,
  loadKerasWeights,
  resnet50,
  resnet50WeightsFileName,
  WEIGHTS_DIR,
} from "../lib/models/mod.ts";

/** Expects `fn` to reject with a message containing `includes`; returns the error. */
async function assertRejects(fn: () => Promise<unknown>, includes: string): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    assert(e instanceof Error && e.message.includes(includes), `unexpected error: ${e}`);
    return e;
  }
  throw new assert.AssertionError({ message: `expected a rejection mentioning "${includes}"` });
}
function assertThrows(fn: () => unknown, includes: string): Error {
  try {
    fn();
  } catch (e) {
    assert(e instanceof Error && e.message.includes(includes), `unexpected error: ${e}`);
    return e;
  }
  throw new assert.AssertionError({ message: `expected an error mentioning "${includes}"` });
}

interface WeightsOracle {
  x: number[][][][];
  preds: number[][];
  features: number[][];
  keras_version: string;
}

const SIZE = 64;

function maxAbsDiff(a: tf.Tensor, b: number[][]): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, tf.tensor2d(b)))).dataSync()[0]);
}

Deno.test("models: Keras weight files load with prediction parity", async (t) => {
  await initEngine({ quiet: true });
  const dir = await Deno.makeTempDir({ prefix: "acmc-models-" });
  try {
    const o = await runOracle<WeightsOracle>("keras_resnet.py", {
      command: "weights",
      dir,
      size: SIZE,
      batch: 2,
      seed: 7,
    });
    const x = tf.tensor4d(o.x);
    const top = resnet50({ inputShape: [SIZE, SIZE, 3], classes: 23 });
    const notop = resnet50({ inputShape: [SIZE, SIZE, 3], includeTop: false, pooling: "avg" });

    for (
      const [file, format] of [
        ["legacy.h5", "legacy-h5"],
        ["full.h5", "legacy-h5"],
        ["model.weights.h5", "keras3-weights-h5"],
        ["untagged.weights.h5", "keras3-weights-h5"],
      ] as const
    ) {
      await t.step(`${file} (${format})`, async () => {
        // Fresh random weights in between, so each file really has to load.
        tf.tidy(() => top.setWeights(top.weights.map((w) => tf.randomNormal(w.shape as number[]))));
        const report = await loadKerasWeights(top, join(dir, file));
        assertEquals(report.format, format);
        assertEquals(report.loaded.length, 107); // 53 conv + 53 BN + predictions
        assertEquals(report.missing, []);
        const y = top.predict(x) as tf.Tensor;
        const diff = maxAbsDiff(y, o.preds);
        y.dispose();
        console.log(
          `  ${file}: max |softmax diff| vs Keras ${o.keras_version} = ${diff.toExponential(2)}`,
        );
        assert(diff < 1e-4, `${file}: max abs diff ${diff}`);
      });
    }

    for (const file of ["notop_tf2.h5", "notop.weights.h5"]) {
      await t.step(`no-top ${file}`, async () => {
        const report = await loadKerasWeights(notop, join(dir, file));
        assertEquals(report.loaded.length, 106);
        const y = notop.predict(x) as tf.Tensor;
        const diff = maxAbsDiff(y, o.features);
        const scale = Math.max(...o.features.flat().map(Math.abs));
        y.dispose();
        console.log(
          `  ${file}: max |feature diff| = ${diff.toExponential(2)} (features up to ${
            scale.toFixed(1)
          })`,
        );
        assert(diff / scale < 1e-4, `${file}: max abs diff ${diff} at scale ${scale}`);
      });
    }

    await t.step("resnet50({ weights: path }) loads the file", async () => {
      const m = await resnet50({
        inputShape: [SIZE, SIZE, 3],
        classes: 23,
        weights: join(dir, "legacy.h5"),
      });
      const y = m.predict(x) as tf.Tensor;
      assert(maxAbsDiff(y, o.preds) < 1e-4);
      y.dispose();
      m.dispose();
    });

    await t.step("a no-top file into a model with a top: clear error, or skipMissing", async () => {
      await assertRejects(
        () => loadKerasWeights(top, join(dir, "notop_tf2.h5")),
        "predictions",
      );
      const report = await loadKerasWeights(top, join(dir, "notop_tf2.h5"), { skipMissing: true });
      assertEquals(report.missing, ["predictions"]);
      assertEquals(report.loaded.length, 106);
    });

    await t.step("shape mismatch names the layer", async () => {
      const ten = resnet50({ inputShape: [SIZE, SIZE, 3], classes: 10 });
      await assertRejects(
        () => loadKerasWeights(ten, join(dir, "legacy.h5")),
        `shape mismatch in layer "predictions"`,
      );
      ten.dispose();
    });

    await t.step("missing and non-Keras files", async () => {
      const missing = join(dir, resnet50WeightsFileName(false));
      const e = await assertRejects(() => loadKerasWeights(notop, missing), missing);
      assert(e.message.includes(KERAS_RESNET_WEIGHTS_URL + resnet50WeightsFileName(false)));
      assert(e.message.includes(WEIGHTS_DIR));
      const text = join(dir, "not.h5");
      await Deno.writeTextFile(text, "hello");
      await assertRejects(() => loadKerasWeights(notop, text), text);
    });
    x.dispose();
    top.dispose();
    notop.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("models: weights 'imagenet' looks in data/weights/ and says where to get the file", async () => {
  await initEngine({ quiet: true });
  for (const includeTop of [true, false]) {
    const name = resnet50WeightsFileName(includeTop);
    assertEquals(
      name,
      `resnet50_weights_tf_dim_ordering_tf_kernels${includeTop ? "" : "_notop"}.h5`,
    );
    const path = join(WEIGHTS_DIR, name);
    if (existsSync(path)) {
      // The real file is there: it must load.
      assertEquals(imagenetWeightsPath(includeTop), path);
      continue;
    }
    const e = assertThrows(() => imagenetWeightsPath(includeTop), path);
    assert(e.message.includes(`${KERAS_RESNET_WEIGHTS_URL}${name}`), e.message);
    assert(e.message.includes("data.README.md"), e.message);
    await assertRejects(
      async () => await resnet50({ inputShape: [64, 64, 3], includeTop, weights: "imagenet" }),
      KERAS_RESNET_WEIGHTS_URL,
    );
  }
  assertThrows(
    () => resnet50({ inputShape: [64, 64, 3], classes: 23, weights: "imagenet" }),
    "classes 1000",
  );
});
