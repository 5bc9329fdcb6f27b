import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  adjustedStrategyResult,
  bestStrategy,
  planRows,
  planStrategies,
  scoreRows,
  STRATEGIES,
  strategyLine,
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

Deno.test("planStrategies builds the six strategies from the training lists", () => {
  const copy = structuredClone(TRAIN);
  const plans = planStrategies(TRAIN, { numClasses: 4, seed: 1, cap: 100 });
  assertEquals(plans.map((p) => p.name), [...STRATEGIES]);
  const [base, weighted, under, over, aug, adjusted] = plans;
  assertEquals({ f: base.filePaths, l: base.labels }, { f: TRAIN.filePaths, l: TRAIN.labels });
  assertEquals(base.classWeight, null);
  assertEquals(weighted.filePaths, TRAIN.filePaths);
  assertEquals(weighted.classWeight, { 0: 1, 1: 2.5, 2: 7.5, 3: 300 / 9 });
  assertEquals(labelCounts(under.labels, 4), [100, 100, 40, 9]);
  assertEquals(labelCounts(over.labels, 4), [300, 300, 300, 300]);
  assertEquals(over.augment, null);
  assertEquals(aug.filePaths, over.filePaths);
  assertEquals(aug.augment, { seed: 1 });
  assertEquals(adjusted.filePaths, TRAIN.filePaths);
  assertEquals([adjusted.classWeight, adjusted.augment], [null, null]);
  assertEquals(adjusted.logitAdjustment, { tau: 1 });
  assert(plans.slice(0, 5).every((p) => p.logitAdjustment === null));
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
  assert.throws(
    () => planStrategies(TRAIN, { numClasses: 4, only: ["logit adjustment"] }),
    /adjusts the baseline's predictions: add "baseline"/,
  );
});

Deno.test("planRows reports sizes, distinct files and weight spread", () => {
  const rows = planRows(planStrategies(TRAIN, { numClasses: 4 }), 4);
  assertEquals(rows.map((r) => r.images), [469, 469, 369, 1200, 1200, 469]);
  assertEquals(rows.map((r) => r.distinctFiles), [469, 469, 369, 469, 469, 469]);
  assertEquals(rows[2].largestClass, 200);
  assertEquals(rows[2].smallestClass, 9);
  assert(Math.abs(rows[1].weightSpread - 300 / 9) < 1e-9);
  assertEquals(rows[0].weightSpread, 1);
  assertEquals(rows.map((r) => r.augmentation), [false, false, false, false, true, false]);
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

Deno.test("adjustedStrategyResult scores the baseline's probabilities with the prior removed", () => {
  // 3 classes trained on 80 / 15 / 5 images; the baseline leans to class 0 on the
  // uncertain images 1 and 2 (true 1 and 2), which the adjustment turns around.
  const labels = [0, 1, 2, 0];
  const probs = [[0.9, 0.06, 0.04], [0.6, 0.35, 0.05], [0.7, 0.05, 0.25], [0.85, 0.1, 0.05]];
  const baselinePred = [0, 0, 0, 0];
  const cm = confusionMatrix(labels, baselinePred, { numClasses: 3 });
  const baseline: StrategyResult = {
    strategy: "baseline",
    summary: summarizeConfusion(cm),
    epochs: 3,
    seconds: 12,
    bestEpoch: 2,
    predictions: { labels, predicted: baselinePred, probs },
  };
  const [, plan] = planStrategies(
    { filePaths: ["a", "b", "c"], labels: [0, 1, 2] },
    { numClasses: 3, only: ["baseline", "logit adjustment"] },
  );
  const r = adjustedStrategyResult(plan, baseline, [80, 15, 5], ["a", "b", "c"]);
  // priors .8/.15/.05: image 1 -> .6/.8=.75 vs .35/.15=2.33 -> 1; image 2 -> .875 vs 5 -> 2;
  // image 0: 1.125 vs .4 vs .8 -> 0; image 3: 1.0625 vs .667 vs 1 -> 0
  assertEquals(r.predictions!.predicted, [0, 1, 2, 0]);
  assertEquals(r.summary.balancedAccuracy, 1);
  assert(baseline.summary.balancedAccuracy < 0.34);
  assertEquals([r.strategy, r.epochs, r.seconds, r.bestEpoch], ["logit adjustment", 3, 12, 2]);
  assert.match(
    strategyLine(r),
    /^logit adjustment: from the baseline's model, .*best epoch 2 of 3, accuracy 1\.000, balanced 1\.000/,
  );
  assert.match(strategyLine(baseline), /^baseline: best epoch 2 of 3, .* \(12 s\)$/);
  r.predictions!.probs!.forEach((row) => assert(Math.abs(row.reduce((a, b) => a + b) - 1) < 1e-12));
  // A class without training images counts as one instead of dividing by 0.
  const unseen = adjustedStrategyResult(plan, baseline, [80, 15, 0], ["a", "b", "c"]);
  assertEquals(unseen.predictions!.predicted[2], 2);
  assert(unseen.predictions!.probs!.flat().every(Number.isFinite));
  const noProbs = { ...baseline, predictions: { labels, predicted: baselinePred } };
  assert.throws(
    () => adjustedStrategyResult(plan, noProbs, [80, 15, 5], ["a", "b", "c"]),
    /kept no class probabilities/,
  );
  const [basePlan] = planStrategies({ filePaths: ["a"], labels: [0] }, { numClasses: 1 });
  assert.throws(
    () => adjustedStrategyResult(basePlan, baseline, [80, 15, 5], ["a", "b", "c"]),
    /not a post-hoc strategy/,
  );
});
