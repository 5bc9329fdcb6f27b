import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { seededRandom } from "../lib/random/mod.ts";
import { runOracle } from "./_python.ts";
import {
  accuracy,
  classificationReport,
  confusionMatrix,
  type Matrix,
  normalizeConfusion,
  olsFit,
  regressionBand,
  type RegressionBandOptions,
  summarizeConfusion,
} from "../lib/metrics/mod.ts";
import { readConfusionCsv } from "../lib/reference/mod.ts";

const REFERENCE_CSV = new URL("../reference/acmc-cm512-imagenet.csv", import.meta.url);
const REFERENCE_JSON = new URL("../reference/acmc-dataset.json", import.meta.url);

function assertAlmostEquals(actual: number, expected: number, tol: number, msg = "") {
  assert(
    Math.abs(actual - expected) <= tol,
    `${msg} expected ${expected} +- ${tol}, got ${actual}`,
  );
}

function assertThrows(fn: () => unknown, cls: ErrorConstructor, includes: string) {
  assert.throws(fn, (e: Error) => {
    assert(e instanceof cls, `expected ${cls.name}, got ${e}`);
    assert(e.message.includes(includes), `message "${e.message}" lacks "${includes}"`);
    return true;
  });
}

function closeAll(actual: number[], expected: number[], tol: number, what: string) {
  assertEquals(actual.length, expected.length, `${what}: length`);
  actual.forEach((v, i) => assertAlmostEquals(v, expected[i], tol, `${what}[${i}]`));
}

/** Random labelled cases, with classes missing from the truth, the predictions, or both. */
function randomCases() {
  const rand = seededRandom(2024);
  const int = (n: number) => Math.floor(rand() * n);
  const cases: { yTrue: number[]; yPred: number[]; k: number }[] = [];
  for (let c = 0; c < 60; c++) {
    const k = 2 + int(22);
    const n = 1 + int(c < 10 ? 5 : 300);
    // A skewed class distribution; a few classes never drawn (empty rows/columns).
    const used = Array.from({ length: k }, () => rand() < 0.8);
    const draw = () => {
      let v = int(k);
      for (let t = 0; t < 5 && !used[v]; t++) v = int(k);
      return v;
    };
    const yTrue = Array.from({ length: n }, draw);
    const skill = rand();
    const yPred = yTrue.map((t) => (rand() < skill ? t : draw()));
    cases.push({ yTrue, yPred, k });
  }
  // Edge cases: all one class predicted; perfect; single sample; nothing right.
  cases.push({ yTrue: [0, 1, 2, 2, 1], yPred: [1, 1, 1, 1, 1], k: 4 });
  cases.push({ yTrue: [0, 1, 2, 3], yPred: [0, 1, 2, 3], k: 6 });
  cases.push({ yTrue: [3], yPred: [3], k: 5 });
  cases.push({ yTrue: [0, 0, 1, 1], yPred: [1, 1, 0, 0], k: 2 });
  cases.push({ yTrue: [2, 2, 2], yPred: [2, 2, 2], k: 3 });
  return cases;
}

interface OracleCase {
  cm: Matrix;
  cmTrue: Matrix;
  cmPred: Matrix;
  cmAll: Matrix;
  precision: number[];
  recall: number[];
  f1: number[];
  support: number[];
  accuracy: number;
  balancedAccuracy: number;
  mcc: number;
  macro: { precision: number; recall: number; f1: number };
  micro: { precision: number; recall: number; f1: number };
  weighted: { precision: number; recall: number; f1: number };
  report: Record<string, Record<string, number> | number>;
  reportText: string;
}

Deno.test("metrics match scikit-learn on random cases, including empty classes", async () => {
  const cases = randomCases();
  const { cases: expected } = await runOracle<{ cases: OracleCase[] }>("sklearn_metrics.py", {
    cases,
  });
  const tol = 1e-12;
  let emptyRows = 0, emptyCols = 0;
  cases.forEach((c, n) => {
    const e = expected[n];
    const what = `case ${n} (k=${c.k}, n=${c.yTrue.length})`;
    const cm = confusionMatrix(c.yTrue, c.yPred, { numClasses: c.k });
    assertEquals(cm, e.cm, `${what}: confusion matrix`);
    emptyRows += cm.filter((r) => r.every((v) => v === 0)).length;
    emptyCols += cm[0].filter((_, j) => cm.every((r) => r[j] === 0)).length;
    for (const [mode, exp] of [["true", e.cmTrue], ["pred", e.cmPred], ["all", e.cmAll]] as const) {
      normalizeConfusion(cm, mode).forEach((row, i) =>
        closeAll(row, exp[i], tol, `${what}: normalize=${mode} row ${i}`)
      );
    }
    const s = summarizeConfusion(cm);
    closeAll(s.perClass.map((p) => p.precision), e.precision, tol, `${what}: precision`);
    closeAll(s.perClass.map((p) => p.tpr), e.recall, tol, `${what}: recall`);
    closeAll(s.perClass.map((p) => p.f1), e.f1, tol, `${what}: f1`);
    assertEquals(s.perClass.map((p) => p.support), e.support, `${what}: support`);
    assertAlmostEquals(s.accuracy, e.accuracy, tol, `${what}: accuracy`);
    assertAlmostEquals(s.balancedAccuracy, e.balancedAccuracy, tol, `${what}: balanced accuracy`);
    assertAlmostEquals(s.mcc, e.mcc, tol, `${what}: mcc`);
    for (const avg of ["macro", "micro", "weighted"] as const) {
      for (const key of ["precision", "recall", "f1"] as const) {
        assertAlmostEquals(s[avg][key], e[avg][key], tol, `${what}: ${avg} ${key}`);
      }
    }
    assertEquals(s.macroF1, s.macro.f1);
    // One-vs-rest counts add up to the total for every class.
    for (const p of s.perClass) assertEquals(p.tp + p.fn + p.fp + p.tn, c.yTrue.length);
    const names = Array.from({ length: c.k }, (_, i) => `c${i}`);
    const rep = classificationReport(cm, names);
    // scikit-learn 1.9 prints supports as floats ("2.0") in some degenerate cases.
    const sk = e.reportText.replace(/ (\d+)\.0\n/g, (_, d) => ` ${d.padStart(d.length + 2)}\n`);
    assertEquals(rep.text, sk, `${what}: report text`);
    const macroRow = rep.summary.find((r) => r.label === "macro avg")!;
    const macroExp = e.report["macro avg"] as Record<string, number>;
    assertAlmostEquals(macroRow.f1, macroExp["f1-score"], tol);
    assertEquals(rep.classes.length, c.k);
  });
  assert(emptyRows > 20, `random cases should include classes with no samples (${emptyRows})`);
  assert(emptyCols > 20, `random cases should include never-predicted classes (${emptyCols})`);
});

Deno.test("confusionMatrix keeps a fixed label order and rejects bad labels", () => {
  assertEquals(confusionMatrix([0, 1, 2, 2], [0, 2, 2, 2], { numClasses: 4 }), [
    [1, 0, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 2, 0],
    [0, 0, 0, 0],
  ]);
  // String labels in a given order; values outside `labels` are left out (sklearn).
  assertEquals(
    confusionMatrix(["b", "a", "x", "a"], ["a", "a", "a", "c"], { labels: ["c", "b", "a"] }),
    [[0, 0, 0], [0, 0, 1], [1, 0, 1]],
  );
  assertEquals(confusionMatrix([1, 0], [0, 0]), [[1, 0], [1, 0]]);
  assertThrows(
    () => confusionMatrix([0, 5], [0, 1], { numClasses: 3 }),
    RangeError,
    "yTrue[1] = 5",
  );
  assertThrows(() => confusionMatrix([0, 1], [0, 1.5], { numClasses: 3 }), RangeError, "yPred[1]");
  assertThrows(() => confusionMatrix([0, 1], [0], { numClasses: 3 }), RangeError, "2 samples");
  assertThrows(() => normalizeConfusion([[1, 2]]), RangeError, "not square");
  assertEquals(normalizeConfusion([[3, 1], [0, 0]], "true"), [[0.75, 0.25], [0, 0]]);
});

Deno.test("the original study's 512 px confusion matrix gives its published figures", async () => {
  const { labels, matrix } = await readConfusionCsv(REFERENCE_CSV);
  const blogOrder =
    JSON.parse(await Deno.readTextFile(REFERENCE_JSON)).label_order_in_blog_notebooks;
  assertEquals(labels, blogOrder);
  const s = summarizeConfusion(matrix, labels);
  assertEquals(s.total, 1292);
  assertEquals(s.correct, 817);
  assertAlmostEquals(s.accuracy, 817 / 1292, 1e-12);
  assertAlmostEquals(accuracy(matrix), 0.6324, 1e-4);
  const tpr = Object.fromEntries(s.perClass.map((c) => [c.name, c.tpr]));
  const published: Record<string, number> = {
    Archie: 0.84,
    Betty: 0.76,
    Jughead: 0.73,
    Veronica: 0.67,
    Weatherbee: 0.65,
    Reggie: 0.61,
    Others: 0.56,
    "Harry Clayton": 0.0,
  };
  for (const [name, v] of Object.entries(published)) {
    // The blog printed two decimals.
    assertAlmostEquals(tpr[name], v, 0.005 + 1e-9, `TPR of ${name}`);
  }
  assertEquals(s.perClass.find((c) => c.name === "Harry Clayton")!.support, 2);
  assertAlmostEquals(s.macroF1, 0.489, 1e-3);
  assertAlmostEquals(s.mcc, 0.588, 1e-3);
  // Exact values from scikit-learn on the same matrix (checked in the venv).
  assertAlmostEquals(s.macroF1, 0.4889772858817002, 1e-12);
  assertAlmostEquals(s.mcc, 0.588306041383025, 1e-12);
  assertAlmostEquals(s.balancedAccuracy, 0.42513652116035816, 1e-12);
});

Deno.test("OLS and the bootstrap band match seaborn's algorithm in numpy", async () => {
  const rand = seededRandom(7);
  const regs: (Required<RegressionBandOptions> & { x: number[]; y: number[] })[] = [];
  const sizes = [41, 71, 146, 85, 550, 962, 157, 67, 259, 34, 46, 33, 151, 109, 46, 679, 64];
  regs.push({
    x: sizes,
    y: sizes.map((s) => Math.min(1, 0.2 + s / 1500 + 0.2 * (rand() - 0.5))),
    nBoot: 1000,
    ci: 95,
    gridSize: 100,
    seed: 0,
    logx: false,
  });
  regs.push({
    x: sizes,
    y: sizes.map((s) => 0.1 * Math.log(s) + 0.1 * rand()),
    nBoot: 300,
    ci: 90,
    gridSize: 20,
    seed: 5,
    logx: true,
  });
  // Three points, two with the same x: many resamples are degenerate (pinv path).
  regs.push({
    x: [1, 1, 3],
    y: [0.2, 0.4, 0.9],
    nBoot: 200,
    ci: 95,
    gridSize: 5,
    seed: 3,
    logx: false,
  });
  const { regressions } = await runOracle<{
    regressions: {
      intercept: number;
      slope: number;
      r: number | null;
      grid: number[];
      yhat: number[];
      lower: number[];
      upper: number[];
    }[];
  }>("sklearn_metrics.py", { regressions: regs });
  regs.forEach((r, i) => {
    const { x, y, ...opts } = r;
    const band = regressionBand(x, y, opts);
    const e = regressions[i];
    assertAlmostEquals(band.fit.intercept, e.intercept, 1e-9, `reg ${i} intercept`);
    assertAlmostEquals(band.fit.slope, e.slope, 1e-9, `reg ${i} slope`);
    if (e.r !== null) assertAlmostEquals(band.fit.r, e.r, 1e-9, `reg ${i} r`);
    closeAll(band.grid, e.grid, 1e-9, `reg ${i} grid`);
    closeAll(band.yhat, e.yhat, 1e-9, `reg ${i} yhat`);
    closeAll(band.lower, e.lower, 1e-9, `reg ${i} lower`);
    closeAll(band.upper, e.upper, 1e-9, `reg ${i} upper`);
    band.lower.forEach((lo, g) => assert(lo <= band.upper[g]));
  });
});

Deno.test("regressionBand is reproducible by seed and validates input", () => {
  const x = [1, 2, 3, 4, 5, 6], y = [1.1, 1.9, 3.2, 3.9, 5.3, 5.8];
  const a = regressionBand(x, y, { seed: 11 });
  assertEquals(a.grid.length, 100);
  assertEquals(a.options.nBoot, 1000);
  assertEquals(regressionBand(x, y, { seed: 11 }).lower, a.lower);
  assert(regressionBand(x, y, { seed: 12 }).lower.some((v, i) => v !== a.lower[i]));
  const fit = olsFit(x, y);
  assertAlmostEquals(fit.slope, 0.9828571428571428, 1e-12);
  assertThrows(() => olsFit([1, 2], [1]), RangeError, "x has 2");
  assertThrows(() => regressionBand(x, y, { ci: 100 }), RangeError, "ci");
  assertThrows(() => regressionBand([0, 1], [1, 2], { logx: true }), RangeError, "logx");
});
