import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { seededRandom } from "../lib/random/mod.ts";
import { parseHTML } from "linkedom";
import { confusionHeatmap, perClassBars, tprVsSizePlot } from "../lib/plots/metrics.ts";
import { confusionMatrix, regressionBand, summarizeConfusion } from "../lib/metrics/mod.ts";
import { readConfusionCsv } from "../lib/reference/mod.ts";
import type { Figure } from "../lib/plots/dom.ts";

const REFERENCE_CSV = new URL("../reference/acmc-cm512-imagenet.csv", import.meta.url);

/** Re-parses a chart's markup, as a notebook output would be read. */
function parse(fig: Figure) {
  const { document } = parseHTML(`<!DOCTYPE html><html><body>${fig.outerHTML}</body></html>`);
  const mark = (name: string) => Array.from(document.querySelectorAll(`g[aria-label="${name}"]`));
  const texts = (name: string) =>
    mark(name).flatMap((g) => Array.from(g.querySelectorAll("text")).map((t) => t.textContent));
  return { document, mark, texts };
}

Deno.test("a 23x23 confusion heatmap has every cell, a label per non-zero cell, and a legend", async () => {
  const { labels, matrix } = await readConfusionCsv(REFERENCE_CSV);
  const nonZero = matrix.flat().filter((v) => v > 0).length;
  const counts = parse(confusionHeatmap(matrix, labels, { title: "512 px" }));
  assertEquals(counts.mark("cell")[0].querySelectorAll("rect").length, 23 * 23);
  const cellLabels = counts.texts("text");
  assertEquals(cellLabels.length, nonZero);
  assert(cellLabels.includes("194"), "the Archie/Archie count is written in its cell");
  // Axis ticks: all 23 names on both axes, x rotated.
  const xTicks = counts.texts("x-axis tick label");
  const yTicks = counts.texts("y-axis tick label");
  assertEquals(xTicks, labels);
  assertEquals(yTicks, labels);
  const xTick = counts.mark("x-axis tick label")[0].querySelector("text")!;
  assert(/rotate\(-50\)/.test(xTick.getAttribute("transform") ?? ""), "x labels are rotated");
  // The colour legend (an extra svg) and the title.
  assert(counts.document.querySelectorAll("svg").length >= 2, "a colour legend");
  assert(counts.document.querySelector("h2")?.textContent === "512 px");
  const width = Number(counts.document.querySelectorAll("svg")[1].getAttribute("width"));
  assert(width >= 23 * 30, `the chart is large enough for 23 classes (${width}px)`);

  const norm = parse(confusionHeatmap(matrix, labels, { normalize: true }));
  const normLabels = norm.texts("text");
  assertEquals(normLabels.length, nonZero);
  assert(normLabels.includes(".84"), "Archie's recall .84 is written on the diagonal");
  assert(normLabels.includes("<.01"), "a tiny non-zero rate is not written as 0");
});

Deno.test("heatmap of a matrix with an absent class keeps its row and column", () => {
  const cm = confusionMatrix([0, 0, 1], [0, 1, 1], { numClasses: 3 });
  const p = parse(confusionHeatmap(cm, ["a", "b", "c"], { normalize: true }));
  assertEquals(p.mark("cell")[0].querySelectorAll("rect").length, 9);
  assertEquals(p.texts("text").sort(), [".50", ".50", "1.00"]);
  assertEquals(p.texts("y-axis tick label"), ["a", "b", "c"]);
});

Deno.test("TPR-vs-size plot: band, line, one dot and one label per class", () => {
  const rand = seededRandom(3);
  const points = Array.from({ length: 23 }, (_, i) => ({
    name: `class ${i}`,
    size: 30 + Math.floor(rand() * 1200),
    tpr: rand(),
  }));
  const band = regressionBand(points.map((p) => p.size), points.map((p) => p.tpr), { nBoot: 200 });
  const p = parse(tprVsSizePlot(points, band, { title: "TPR" }));
  assertEquals(p.mark("dot")[0].querySelectorAll("circle").length, 23);
  assertEquals(p.texts("text").sort(), points.map((q) => q.name).sort());
  assertEquals(p.mark("area").length, 1);
  assertEquals(p.mark("line").length, 1);
  assert(/r = /.test(p.document.querySelector("h3")?.textContent ?? ""), "subtitle states the fit");
});

Deno.test("per-class bars: one bar and value label per class and metric", async () => {
  const { labels, matrix } = await readConfusionCsv(REFERENCE_CSV);
  const scores = summarizeConfusion(matrix, labels).perClass;
  const p = parse(perClassBars(scores, { metrics: ["tpr", "f1"] }));
  const bars = p.mark("bar").flatMap((g) => Array.from(g.querySelectorAll("rect")));
  assertEquals(bars.length, 2 * 23);
  const values = p.texts("text");
  assertEquals(values.length, 2 * 23);
  assert(values.includes("0.84") && values.includes("0.00"));
  // Sorted by the first metric: Archie (0.84) first, Harry Clayton (0) last.
  const y = p.texts("y-axis tick label");
  assertEquals(y[0], "Archie");
  assertEquals(y[y.length - 1], "Harry Clayton");
  const support = parse(perClassBars(scores, { metrics: ["support"], sortBy: null }));
  assertEquals(support.texts("y-axis tick label"), labels);
  assert(support.texts("text").includes("232"));
  let threw = false;
  try {
    perClassBars(scores, { metrics: ["tpr", "support"] });
  } catch (e) {
    threw = /own chart/.test((e as Error).message);
  }
  assert(threw, "mixing counts and rates on one axis is refused");
});
