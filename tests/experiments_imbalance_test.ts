import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  bestStrategy,
  planRows,
  planStrategies,
  scoreRows,
  STRATEGIES,
  type StrategyResult,
} from "../lib/experiments/imbalance.ts";
import { classCounts } from "../lib/data/balance.ts";
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
  assertEquals(classCounts(under.labels, 4), [100, 100, 40, 9]);
  assertEquals(classCounts(over.labels, 4), [300, 300, 300, 300]);
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
