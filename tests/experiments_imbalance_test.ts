import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  bestStrategy,
  planRows,
  planStrategies,
  scoreRows,
  STRATEGIES,
  type StrategyResult,
} from "../lib/experiments/imbalance.ts";
import { labelCounts } from "../lib/data/balance.ts";
import { confusionMatrix, summarizeConfusion } from "../lib/metrics/mod.ts";

/** 4 classes of 300, 120, 40 and 9 training files. */
const COUNTS = [300, 120, 40, 9];
const TRAIN = (() => {
  const filePaths: string[] = [];
  const labels: number[] = [];
  COUNTS.forEach((n, c) => {
    for (let i = 0; i < n; i++) {
      filePaths.push(`c${c}/${i}.png`);
      labels.push(c);
    }
  });
  return { filePaths, labels };
})();

Deno.test("planStrategies builds the five strategies from the training lists", () => {
  const copy = structuredClone(TRAIN);
  const plans = planStrategies(TRAIN, { numClasses: 4, seed: 1, cap: 100 });
  assertEquals(plans.map((p) => p.name), [...STRATEGIES]);
  const [base, weighted, under, over, aug] = plans;
  assertEquals({ f: base.filePaths, l: base.labels }, { f: TRAIN.filePaths, l: TRAIN.labels });
  assertEquals(base.classWeight, null);
  assertEquals(weighted.filePaths, TRAIN.filePaths);
  assertEquals(weighted.classWeight, { 0: 1, 1: 2.5, 2: 7.5, 3: 300 / 9 });
  assertEquals(labelCounts(under.labels, 4), [100, 100, 40, 9]);
  assertEquals(labelCounts(over.labels, 4), [300, 300, 300, 300]);
  assertEquals(over.augment, null);
  assertEquals(aug.filePaths, over.filePaths);
  assertEquals(aug.augment, { seed: 1 });
  assertEquals(TRAIN, copy, "the training lists are not modified");
  const balanced = planStrategies(TRAIN, {
    numClasses: 4,
    classWeightMethod: "balanced",
    only: ["class weights"],
  });
  assertEquals(balanced.length, 1);
  assert(Math.abs(balanced[0].classWeight![3] - 469 / (4 * 9)) < 1e-12);
  assert.throws(
    () => planStrategies(TRAIN, { numClasses: 4, only: ["smote"] }),
    /unknown strategy/,
  );
});

Deno.test("planRows reports sizes, distinct files and weight spread", () => {
  const rows = planRows(planStrategies(TRAIN, { numClasses: 4 }), 4);
  assertEquals(rows.map((r) => r.images), [469, 469, 369, 1200, 1200]);
  assertEquals(rows.map((r) => r.distinctFiles), [469, 469, 369, 469, 469]);
  assertEquals(rows[2].largestClass, 200);
  assertEquals(rows[2].smallestClass, 9);
  assert(Math.abs(rows[1].weightSpread - 300 / 9) < 1e-9);
  assertEquals(rows[0].weightSpread, 1);
  assertEquals(rows.map((r) => r.augmentation), [false, false, false, false, true]);
});

function result(strategy: string, yTrue: number[], yPred: number[]): StrategyResult {
  const cm = confusionMatrix(yTrue, yPred, { numClasses: 3 });
  return { strategy, summary: summarizeConfusion(cm), epochs: 1, seconds: 1 };
}

Deno.test("bestStrategy skips the baseline and picks the highest balanced accuracy", () => {
  const yTrue = [0, 0, 0, 0, 0, 0, 1, 1, 2, 2];
  const results = [
    result("baseline", yTrue, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), // accuracy 0.6, balanced 1/3
    result("class weights", yTrue, [0, 0, 0, 0, 1, 2, 1, 1, 2, 0]), // balanced (4/6+1+.5)/3
    result("oversample", yTrue, [0, 0, 0, 0, 0, 0, 1, 0, 2, 0]), // accuracy .8, balanced 2/3
  ];
  assertEquals(bestStrategy(results).strategy, "class weights");
  assertEquals(bestStrategy(results, "accuracy").strategy, "oversample");
  const rows = scoreRows(results);
  assertEquals(rows[0].accuracy, 0.6);
  assert(Math.abs(rows[0].balancedAccuracy - 1 / 3) < 1e-12);
  assertEquals(Object.keys(rows[0]).sort(), [
    "accuracy",
    "balancedAccuracy",
    "macroF1",
    "mcc",
    "strategy",
  ]);
  assert.throws(() => bestStrategy([results[0]]), /no strategy besides the baseline/);
});

Deno.test("takeBatches yields the first n batches of each pass and reports cardinality n", async () => {
  const { takeBatches } = await import("../lib/experiments/imbalance.ts");
  let passes = 0;
  let made = 0;
  const ds = {
    classNames: ["a"],
    filePaths: ["f0", "f1", "f2", "f3", "f4"],
    labels: [0, 0, 0, 0, 0],
    batchSize: 1,
    imageSize: [1, 1] as [number, number],
    channels: 3,
    cardinality: 5,
    async *[Symbol.asyncIterator]() {
      const p = passes++;
      for (let i = 0; i < 5; i++) {
        made++;
        yield { x: null as never, y: null, tag: `${p}:${i}` };
      }
    },
  };
  const t = takeBatches(ds, 2);
  assertEquals(t.cardinality, 2);
  assertEquals(t.filePaths, ds.filePaths);
  const seen: string[] = [];
  for (let e = 0; e < 2; e++) {
    for await (const b of t) seen.push((b as unknown as { tag: string }).tag);
  }
  assertEquals(seen, ["0:0", "0:1", "1:0", "1:1"]);
  assertEquals(made, 4, "the source stops after the batches taken");
  assert(takeBatches(ds, null) === ds && takeBatches(ds, 9) === ds);
  assert.throws(() => takeBatches(ds, 0), /steps must be/);
});

Deno.test("runStrategy trains, reloads the best epoch, scores validation and frees its tensors", async () => {
  const { initEngine, tf } = await import("../lib/engine/mod.ts");
  const { datasetFromFiles, imageDatasetFromDirectory } = await import("../lib/data/dataset.ts");
  const { augmentation } = await import("../lib/data/augment.ts");
  const { runStrategy, takeBatches } = await import("../lib/experiments/imbalance.ts");
  const { default: sharp } = await import("sharp");
  await initEngine();
  const dir = await Deno.makeTempDir({ prefix: "acmc-imbalance-" });
  try {
    for (const [c, n] of [["big", 14], ["small", 6], ["tiny", 5]] as const) {
      await Deno.mkdir(`${dir}/${c}`);
      for (let i = 0; i < n; i++) {
        const png = await sharp({
          create: {
            width: 40,
            height: 36,
            channels: 3,
            background: { r: 30 * i, g: c.length * 40, b: 90 },
          },
        }).png().toBuffer();
        await Deno.writeFile(`${dir}/${c}/${c}_${i}.png`, png);
      }
    }
    const opts = { imageSize: 32, batchSize: 4, seed: 123, cache: "memory" as const };
    const [train, valid] = await imageDatasetFromDirectory(dir, {
      ...opts,
      validationSplit: 0.2,
      subset: "both",
      verbose: false,
    });
    const plans = planStrategies(train, {
      numClasses: 3,
      only: ["oversample + augmentation"],
    });
    const before = tf.memory().numTensors;
    for (const plan of plans) {
      const ds = datasetFromFiles(plan.filePaths, plan.labels, train.classNames, {
        ...opts,
        shuffle: true,
        map: plan.augment ? augmentation(plan.augment) : undefined,
      });
      const r = await runStrategy(plan, takeBatches(ds, 2), {
        validation: valid,
        classNames: train.classNames,
        epochs: 2,
        patience: 5,
        checkpointDir: `${dir}/ckpt`,
        verbose: 0,
      });
      assertEquals(r.strategy, plan.name);
      assertEquals(r.epochs, 2);
      assert(r.bestEpoch === 1 || r.bestEpoch === 2);
      assertEquals(r.summary.total, valid.filePaths.length);
      assertEquals(r.confusion!.flat().reduce((a, b) => a + b, 0), valid.filePaths.length);
      // The scored weights are the best epoch's: its logged val_accuracy is the accuracy.
      const logged = r.history!.history.val_accuracy[r.bestEpoch! - 1];
      assert(Math.abs(r.summary.accuracy - logged) < 1e-6, `${r.summary.accuracy} vs ${logged}`);
      assert(r.seconds > 0);
    }
    assertEquals(tf.memory().numTensors, before, "model and optimizer are freed");
    // A plan holding a validation file is refused.
    const bad = { ...plans[0], filePaths: [...plans[0].filePaths, valid.filePaths[0]] };
    bad.labels = [...plans[0].labels, valid.labels[0]];
    const badDs = datasetFromFiles(bad.filePaths, bad.labels, train.classNames, opts);
    await assert.rejects(
      () =>
        runStrategy(bad, badDs, {
          validation: valid,
          classNames: train.classNames,
          checkpointDir: `${dir}/ckpt`,
        }),
      /validation file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
