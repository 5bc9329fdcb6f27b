import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { parseHTML } from "linkedom";
import { progressiveCurves, sizeSweepPlot } from "../lib/plots/image_size.ts";
import type { ProgressiveResult, SizeRun } from "../lib/experiments/image_size.ts";
import type { Figure } from "../lib/plots/dom.ts";

function parse(fig: Figure) {
  const { document } = parseHTML(`<!DOCTYPE html><html><body>${fig.outerHTML}</body></html>`);
  const texts = (mark: string) =>
    Array.from(document.querySelectorAll(`g[aria-label="${mark}"] text`)).map((t) => t.textContent);
  const count = (mark: string, el: string) =>
    document.querySelectorAll(`g[aria-label="${mark}"] ${el}`).length;
  return { document, texts, count };
}

function run(size: number, status: "trained" | "refused", acc: number, secs: number): SizeRun {
  return {
    size,
    status,
    estimateBytes: 1,
    availableBytes: 2,
    memoryMessage: "",
    bestValAccuracy: status === "trained" ? acc : null,
    bestEpoch: status === "trained" ? 1 : null,
    epochsRun: status === "trained" ? 2 : 0,
    secondsPerEpoch: status === "trained" ? secs : null,
    peakRssBytes: status === "trained" ? 3 * 2 ** 30 : null,
    rssBeforeBytes: null,
    history: null,
    checkpoint: null,
  };
}

Deno.test("size sweep charts: our points, the study's dashed, refused sizes marked", () => {
  const runs = [
    run(32, "trained", 0.2, 10),
    run(64, "trained", 0.35, 30),
    run(1024, "refused", 0, 0),
  ];
  const acc = parse(sizeSweepPlot(runs, "accuracy", { title: "t" }));
  // Value labels: ours (2) and the study's (3).
  assertEquals(acc.texts("text").slice(0, 5).sort(), ["0.200", "0.350", "0.430", "0.508", "0.634"]);
  assertEquals(acc.count("line", "path"), 2);
  assert(acc.texts("text").includes("1024 px refused"));
  assertEquals(acc.count("rule", "line"), 1);
  const ticks = acc.texts("x-axis tick label");
  assertEquals(ticks, ["32", "64", "128", "256", "512", "1024"]);
  const secs = parse(sizeSweepPlot(runs, "seconds", {}));
  assert(secs.texts("text").includes("160.0") && secs.texts("text").includes("30.0"));
  const mem = parse(sizeSweepPlot(runs, "memory", { study: true }));
  assertEquals(mem.count("line", "path"), 1); // no study figures for memory
  assert(mem.texts("text").includes("3.0"));
  assert.throws(() => sizeSweepPlot([], "accuracy", { study: false }), /nothing to draw/);
});

Deno.test("progressive curves: one point per epoch per strategy, labelled with its size", () => {
  const h = (va: number[]) => ({
    epoch: va.map((_, i) => i),
    history: { val_accuracy: va },
    params: { epochs: va.length, steps: 1, initialEpoch: 0, samples: 1 },
  });
  const result: ProgressiveResult = {
    epochs: 3,
    memory: [],
    progressive: {
      strategy: "progressive",
      phases: [{ size: 32, epochs: 1, seconds: 1, valAccuracy: 0.1 }, {
        size: 64,
        epochs: 2,
        seconds: 2,
        valAccuracy: 0.3,
      }],
      finalValAccuracy: 0.3,
      bestFinalSizeValAccuracy: 0.3,
      seconds: 3,
      peakRssBytes: 1,
      history: h([0.1, 0.2, 0.3]),
    },
    fixed: {
      strategy: "fixed",
      phases: [{ size: 64, epochs: 3, seconds: 5, valAccuracy: 0.25 }],
      finalValAccuracy: 0.25,
      bestFinalSizeValAccuracy: 0.25,
      seconds: 5,
      peakRssBytes: 1,
      history: h([0.05, 0.15, 0.25]),
    },
  };
  const p = parse(progressiveCurves(result, { title: "p" }));
  assertEquals(p.texts("text"), ["32 px", "64 px", "64 px", "64 px", "64 px", "64 px"]);
  assertEquals(p.count("line", "path"), 2);
  assertEquals(p.texts("x-axis tick label"), ["1", "2", "3"]);
});
