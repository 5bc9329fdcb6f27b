import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { logitAdjusted } from "../lib/train/logit_adjustment.ts";
import { balancedAccuracy, confusionMatrix } from "../lib/metrics/mod.ts";
import { seededRandom } from "../lib/random/mod.ts";

const close = (a: number, b: number, tol = 1e-12) => assert(Math.abs(a - b) <= tol, `${a} vs ${b}`);

Deno.test("logitAdjusted divides by the prior to the power tau and renormalises", () => {
  const { probs, predicted } = logitAdjusted([[0.8, 0.2], [0.95, 0.05]], [900, 100]);
  // 0.8/0.9 = 0.889 vs 0.2/0.1 = 2 -> class 1; 0.95/0.9 = 1.056 vs 0.5 -> class 0
  assertEquals(predicted, [1, 0]);
  close(probs[0][0], (0.8 / 0.9) / (0.8 / 0.9 + 2));
  close(probs[0][1], 2 / (0.8 / 0.9 + 2));
  const half = logitAdjusted([[0.8, 0.2]], [900, 100], { tau: 0.5 });
  // 0.8/sqrt(.9) = 0.843 vs 0.2/sqrt(.1) = 0.632 -> class 0
  assertEquals(half.predicted, [0]);
  const none = logitAdjusted([[0.3, 0.7], [0.6, 0.4]], [900, 100], { tau: 0 });
  assertEquals(none.predicted, [1, 0]);
  close(none.probs[0][1], 0.7);
});

Deno.test("logitAdjusted keeps a probability that underflowed to 0 the smallest", () => {
  const { probs, predicted } = logitAdjusted([[0, 1e-3, 1 - 1e-3]], [1, 1, 10000]);
  assertEquals(predicted, [1]);
  assertEquals(probs[0][0], 0);
  assert(probs[0].every(Number.isFinite));
});

Deno.test("logitAdjusted raises balanced accuracy of calibrated imbalanced predictions", () => {
  // Three Gaussian classes on a line, priors 0.85 / 0.1 / 0.05: the exact posterior
  // (a calibrated model) loses the small classes; the adjusted argmax recovers them.
  const rand = seededRandom(7);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const prior = [0.85, 0.1, 0.05];
  const means = [0, 1.5, 3];
  const labels: number[] = [];
  const probs: number[][] = [];
  for (let i = 0; i < 4000; i++) {
    const u = rand();
    const y = u < prior[0] ? 0 : u < prior[0] + prior[1] ? 1 : 2;
    const x = means[y] + gauss();
    const joint = means.map((m, c) => prior[c] * Math.exp(-0.5 * (x - m) ** 2));
    const s = joint.reduce((a, b) => a + b, 0);
    labels.push(y);
    probs.push(joint.map((v) => v / s));
  }
  const argmax = (r: number[]) => r.indexOf(Math.max(...r));
  const bacc = (pred: number[]) =>
    balancedAccuracy(confusionMatrix(labels, pred, { numClasses: 3 }));
  const before = bacc(probs.map(argmax));
  const after = bacc(logitAdjusted(probs, [850, 100, 50]).predicted);
  assert(after > before + 0.1, `balanced accuracy ${before} -> ${after}`);
});

Deno.test("logitAdjusted names what is wrong with its input", () => {
  assert.throws(() => logitAdjusted([[0.5, 0.5]], [10, 0]), /class 1 has 0 training images/);
  assert.throws(
    () => logitAdjusted([[0.5, 0.3, 0.2]], [10, 5]),
    /row 0 has 3 probabilities, expected 2/,
  );
  assert.throws(
    () => logitAdjusted([[0.5, 0.5]], [10, 5], { tau: -1 }),
    /tau must be a number >= 0/,
  );
  assert.throws(() => logitAdjusted([[1]], [10]), /at least 2 class counts/);
});
