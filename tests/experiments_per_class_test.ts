import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import {
  analyzePredictions,
  findSavedPredictions,
  headlineRows,
  perClassTable,
  studyAnalysis,
} from "../lib/experiments/per_class.ts";
import { readPredictions, writePredictions } from "../lib/train/mod.ts";

Deno.test("the study's 512 px matrix: headline scores, per-class table by size, regression", async () => {
  const study = await studyAnalysis({ nBoot: 200, seed: 1 });
  assertEquals(study.summary.correct, 817);
  assertEquals(study.summary.total, 1292);
  const rows = perClassTable(study);
  assertEquals(rows[0].class, "Archie");
  assertEquals(rows[0].images, 1284);
  assertEquals(rows[rows.length - 1].class, "Svenson");
  // Recall rises with class size in the study (r ~0.78).
  assert(study.band.fit.slope > 0 && study.band.fit.r > 0.7, `r = ${study.band.fit.r}`);
  const head = headlineRows({ study });
  const byMetric = Object.fromEntries(head.map((r) => [r.metric, r.study]));
  assert(Math.abs((byMetric["macro-F1"] as number) - 0.489) < 1e-3);
  assert(Math.abs((byMetric["multiclass MCC"] as number) - 0.588) < 1e-3);
  assertEquals(byMetric["classes never predicted right"], 1);
});

Deno.test("analyzePredictions from saved predictions; bad files are refused with their path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "p.json");
    await writePredictions(path, {
      model: "m",
      imageSize: 32,
      classNames: ["a", "b", "c"],
      filePaths: ["x/a/1.png", "x/a/2.png", "x/b/1.png", "x/c/1.png"],
      labels: [0, 0, 1, 2],
      predicted: [0, 1, 1, 0],
    });
    const preds = await readPredictions(path);
    const a = analyzePredictions({
      predictions: preds,
      classSizes: { a: 10, b: 5, c: 2 },
      nBoot: 50,
    });
    assertEquals(a.cm, [[1, 1, 0], [0, 1, 0], [1, 0, 0]]);
    assertEquals(a.points.map((p) => [p.name, p.size, p.tpr]), [["a", 10, 0.5], ["b", 5, 1], [
      "c",
      2,
      0,
    ]]);
    assertEquals(a.normalized[0], [0.5, 0.5, 0]);
    // A class with no validation image has no recall: out of the regression, the chart and
    // the table's recall column, not a 0 dragging the fit down.
    const d = analyzePredictions({
      predictions: { ...preds, classNames: ["a", "b", "c", "d"] },
      classSizes: { a: 10, b: 5, c: 2, d: 1 },
      nBoot: 50,
    });
    assertEquals(d.points.map((p) => p.name), ["a", "b", "c"]);
    assertEquals(d.leftOut, ["d"]);
    assertEquals(d.band.fit.n, 3);
    assertEquals(d.band.fit.slope, a.band.fit.slope);
    const dRow = perClassTable(d).find((r) => r.class === "d")!;
    assertEquals([dRow.images, dRow.support, dRow.tpr], [1, 0, null]);
    assert.throws(
      () => analyzePredictions({ predictions: preds, classSizes: { a: 1 } }),
      /no class size for b, c/,
    );
    await Deno.writeTextFile(
      path,
      JSON.stringify({ ...preds, predicted: [0, 1, 7, 0] }),
    );
    await assert.rejects(() => readPredictions(path), (e: Error) => {
      return e.message.includes(path) && e.message.includes("predicted[2] = 7");
    });
    assertEquals(findSavedPredictions([join(dir, "none.json"), path]), path);
    assertEquals(findSavedPredictions([join(dir, "none.json")]), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
