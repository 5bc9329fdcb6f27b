import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { parseHTML } from "linkedom";
import {
  augmentationGrid,
  strategyScoresChart,
  tprComparisonChart,
} from "../lib/plots/imbalance.ts";
import { initEngine, tf } from "../lib/engine/mod.ts";
import type { Figure } from "../lib/plots/dom.ts";

/** Re-parses a chart's markup, as a notebook output would be read. */
function parse(fig: Figure) {
  const { document } = parseHTML(`<!DOCTYPE html><html><body>${fig.outerHTML}</body></html>`);
  const mark = (name: string) => Array.from(document.querySelectorAll(`g[aria-label="${name}"]`));
  const texts = (name: string) =>
    mark(name).flatMap((g) => Array.from(g.querySelectorAll("text")).map((t) => t.textContent));
  const count = (name: string, tag: string) =>
    mark(name).reduce((n, g) => n + g.querySelectorAll(tag).length, 0);
  return { document, mark, texts, count };
}

const ROWS = [
  { strategy: "baseline", accuracy: 0.61, balancedAccuracy: 0.31, macroF1: 0.3, mcc: 0.5 },
  { strategy: "class weights", accuracy: 0.58, balancedAccuracy: 0.42, macroF1: 0.38, mcc: 0.49 },
  { strategy: "undersample-200", accuracy: 0.47, balancedAccuracy: 0.4, macroF1: 0.35, mcc: -0.02 },
];

Deno.test("strategy chart: one bar and one value label per strategy and score", () => {
  const p = parse(strategyScoresChart(ROWS, { title: "Scores" }));
  assertEquals(p.count("bar", "rect"), 3 * 4);
  const labels = p.texts("text");
  assertEquals(labels.length, 12);
  for (const v of ["0.610", "0.420", "-0.020", "0.380"]) assert(labels.includes(v), v);
  assertEquals(p.texts("fx-axis tick label"), ["Accuracy", "Balanced accuracy", "Macro-F1", "MCC"]);
  // Strategies in the given order on the y axis (one axis per facet row).
  assertEquals(p.texts("y-axis tick label").slice(0, 3), ROWS.map((r) => r.strategy));
  assertEquals(p.document.querySelector("h2")?.textContent, "Scores");
  const only = parse(strategyScoresChart(ROWS, { scores: ["mcc"] }));
  assertEquals(only.count("bar", "rect"), 3);
  assert.throws(() => strategyScoresChart([]), /no strategies/);
  assert.throws(() => strategyScoresChart([ROWS[0], ROWS[0]]), /repeat/);
  assert.throws(() => strategyScoresChart([{ ...ROWS[0], mcc: NaN }]), /mcc of "baseline"/);
});

Deno.test("TPR comparison keeps each class with its own values, sorted by training size", () => {
  const names = ["Kleats", "Archie", "Betty"];
  const base = [0, 0.9, 0.6];
  const best = [0.5, 0.8, 0.7];
  const p = parse(
    tprComparisonChart(names, base, best, { toLabel: "oversample", trainCounts: [33, 1027, 559] }),
  );
  // Sorted by training images, largest first, with the counts in the names.
  assertEquals(p.texts("y-axis tick label"), ["Archie (1027)", "Betty (559)", "Kleats (33)"]);
  assertEquals(p.count("dot", "circle"), 6);
  assertEquals(p.count("link", "path"), 3);
  // Each dot sits at its class's value: read the dots' x positions per row.
  const circles = p.mark("dot").flatMap((g) => Array.from(g.querySelectorAll("circle")));
  const xs = circles.map((c) => Number(c.getAttribute("cx")));
  const ys = circles.map((c) => Number(c.getAttribute("cy")));
  const rowOf = (y: number) => [...new Set(ys)].sort((a, b) => a - b).indexOf(y);
  const byRow = new Map<number, number[]>();
  xs.forEach((x, i) => byRow.set(rowOf(ys[i]), [...(byRow.get(rowOf(ys[i])) ?? []), x]));
  const x0 = Math.min(...xs.filter((_, i) => rowOf(ys[i]) === 2)); // Kleats baseline: 0
  const x1 = Math.max(...xs); // the largest value, 0.9, is Archie's baseline
  const scale = (v: number) => x0 + v * ((x1 - x0) / 0.9);
  const expect = [[0.9, 0.8], [0.6, 0.7], [0, 0.5]];
  for (const [row, vals] of expect.entries()) {
    const got = byRow.get(row)!.sort((a, b) => a - b);
    const want = vals.map(scale).sort((a, b) => a - b);
    got.forEach((g, i) => assert(Math.abs(g - want[i]) < 0.5, `row ${row}: ${got} vs ${want}`));
  }
  // With validation counts: a class without validation images is left out (recall undefined).
  const v = parse(
    tprComparisonChart(names, base, best, {
      trainCounts: [33, 1027, 559],
      validationCounts: [0, 9, 4],
    }),
  );
  assertEquals(v.texts("y-axis tick label"), ["Archie (1027 / 9)", "Betty (559 / 4)"]);
  assertEquals(v.count("dot", "circle"), 4);
  assert.throws(
    () => tprComparisonChart(names, base, best, { validationCounts: [0, 0, 0] }),
    /no class has validation images/,
  );
  // Without counts: label order.
  const q = parse(tprComparisonChart(names, base, best));
  assertEquals(q.texts("y-axis tick label"), names);
  assert.throws(() => tprComparisonChart(names, base, [1]), /to has 1 values for 3 classes/);
  assert.throws(() => tprComparisonChart(names, base, best, { toLabel: "baseline" }), /equal/);
});

Deno.test("augmentation grid embeds one thumbnail per image and row, labels each row", async () => {
  await initEngine();
  const a = tf.fill([3, 8, 6, 3], 200) as tf.Tensor4D;
  const b = tf.fill([3, 8, 6, 3], 20) as tf.Tensor4D;
  const p = parse(
    await augmentationGrid([{ label: "original", images: a }, { label: "aug & co", images: b }], {
      title: "T",
      thumb: 40,
    }),
  );
  const imgs = Array.from(p.document.querySelectorAll("image"));
  assertEquals(imgs.length, 6);
  assert(imgs.every((i) => (i.getAttribute("href") ?? "").startsWith("data:image/png;base64,")));
  assertEquals(Number(imgs[0].getAttribute("height")), 40); // 8x6 enlarged to fit 40 px
  const texts = Array.from(p.document.querySelectorAll("text")).map((t) => t.textContent);
  assertEquals(texts, ["T", "original", "aug & co"]);
  const c = tf.fill([2, 8, 6, 3], 1) as tf.Tensor4D;
  await assert.rejects(
    () => augmentationGrid([{ label: "x", images: a }, { label: "y", images: c }]),
    /expected 3 images/,
  );
  tf.dispose([a, b, c]);
});
