/** worstPredictions: images ranked by the probability of their true class (highest loss first). */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { worstPredictions } from "../lib/metrics/mod.ts";
import { seededRandom } from "../lib/random/mod.ts";

function randomPredictions(n: number, k: number, seed: number) {
  const rand = seededRandom(seed);
  const probs = Array.from({ length: n }, () => {
    const e = Array.from({ length: k }, () => Math.exp(4 * rand()));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
  const labels = Array.from({ length: n }, () => Math.floor(rand() * k));
  const files = labels.map((_, i) => `valid/${i}.png`);
  return { probs, labels, files };
}

Deno.test("worstPredictions: the k lowest true-class probabilities, worst first, with their loss", () => {
  const { probs, labels, files } = randomPredictions(50, 4, 1);
  const worst = worstPredictions({ probs, labels }, files, { k: 7 });
  assertEquals(worst.length, 7);
  // every image outside the list has a true-class probability at least the last one's
  const last = worst[worst.length - 1].trueProbability;
  const chosen = new Set(worst.map((w) => w.index));
  for (let i = 0; i < probs.length; i++) {
    if (!chosen.has(i)) assert(probs[i][labels[i]] >= last, `image ${i} should be in the list`);
  }
  for (const [j, w] of worst.entries()) {
    if (j > 0) assert(w.trueProbability >= worst[j - 1].trueProbability);
    assertEquals(w.file, files[w.index]);
    assertEquals(w.label, labels[w.index]);
    assertEquals(w.trueProbability, probs[w.index][labels[w.index]]);
    assertEquals(w.predictedProbability, Math.max(...probs[w.index]));
    assertEquals(w.predicted, probs[w.index].indexOf(Math.max(...probs[w.index])));
    assert(Math.abs(w.loss + Math.log(w.trueProbability)) < 1e-12);
    if (j > 0) assert(w.loss <= worst[j - 1].loss);
  }
  // onlyWrong leaves out the images the model gets right
  const wrong = worstPredictions({ probs, labels }, files, { k: 50, onlyWrong: true });
  const misclassified = probs.filter((p, i) => p.indexOf(Math.max(...p)) !== labels[i]).length;
  assertEquals(wrong.length, misclassified);
  assert(wrong.every((w) => w.predicted !== w.label));
  // default k = 10
  assertEquals(worstPredictions({ probs, labels }, files).length, 10);
});

Deno.test("worstPredictions: Keras' clipping of the loss, ties in order, and clear errors", () => {
  const probs = [[1, 0], [0.5, 0.5], [0, 1], [0.5, 0.5]];
  const labels = [1, 0, 1, 1];
  const files = ["a", "b", "c", "d"];
  const worst = worstPredictions({ probs, labels }, files, { k: 4 });
  assertEquals(worst.map((w) => w.file), ["a", "b", "d", "c"]);
  assert(Math.abs(worst[0].loss - -Math.log(1e-7)) < 1e-9, "p = 0 is clipped to 1e-7");
  assert(Math.abs(worst[3].loss - -Math.log(1 - 1e-7)) < 1e-12, "p = 1 is clipped to 1 - 1e-7");
  assert.throws(
    () => worstPredictions({ probs, labels }, ["a"]),
    /4 probability rows, 4 labels and 1 file paths/,
  );
  assert.throws(
    () => worstPredictions({ probs, labels: [0, 1, 2, 0] }, files),
    /label 2 of c is not a class index in 0..1/,
  );
  assert.throws(() => worstPredictions({ probs, labels }, files, { k: -1 }), /k must be/);
});
