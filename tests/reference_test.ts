import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  ACMC_CLASSES,
  ACMC_COUNTS,
  ACMC_SPLIT,
  ACMC_TOTAL,
  parseConfusionCsv,
  parseStudyLogs,
  STUDY_SIZE_SWEEP,
  studyConfusion,
  studyRun,
  studyRuns,
  studySummary,
} from "../lib/reference/mod.ts";
import { historyPoints, trainingCurves } from "../lib/plots/training.ts";
import type { History } from "../lib/train/types.ts";

function assertThrows(fn: () => unknown, cls: ErrorConstructor, includes: string) {
  assert.throws(fn, (e: Error) => {
    assert(e instanceof cls, `expected ${cls.name}, got ${e}`);
    assert(e.message.includes(includes), `message "${e.message}" lacks "${includes}"`);
    return true;
  });
}

Deno.test("the study's epoch logs parse into runs with the README's best epochs", async () => {
  const runs = await studyRuns();
  const scratch = studyRun(runs, "tf-acmc-simple-orig.ipynb");
  assertEquals(scratch.epochs.length, 20);
  assertEquals(scratch.plannedEpochs, 20);
  assertEquals(scratch.bestIndex, 17); // best val_accuracy 0.5666 at epoch 18
  assertEquals(scratch.epochs[17].val_accuracy, 0.5666);
  assertEquals(scratch.epochs[0], {
    epoch: 1,
    loss: 2.606,
    accuracy: 0.2147,
    val_loss: 4.1864,
    val_accuracy: 0.1084,
    seconds: 61,
  });
  const imagenet = studyRun(runs, "fork-of-tf-acmc-simple-imagenet.ipynb");
  assert(imagenet.title.includes("Version 1"), imagenet.title);
  assertEquals(imagenet.epochs[imagenet.bestIndex].val_accuracy, 0.5596);
  assertEquals(imagenet.epochs[imagenet.bestIndex].epoch, 16);
  // the size sweep notebook holds three fits: 13, 10 and 19 epochs; bests 0.4296/0.5077/0.6339
  const sweep = [0, 1, 2].map((f) => studyRun(runs, "fork-of-tf-acmc-simple-sizes.ipynb", f));
  assertEquals(sweep.map((r) => r.epochs.length), [13, 10, 19]);
  assertEquals(sweep.map((r) => r.epochs[r.bestIndex].val_accuracy), [0.4296, 0.5077, 0.6339]);
  const r512 = studyRun(runs, "tf-acmc-simple-imagenet-512.ipynb");
  assertEquals(r512.epochs[r512.bestIndex].val_accuracy, 0.6324);
  assert(runs.every((r) => r.epochs.every((e) => Number.isFinite(e.loss) && e.seconds > 0)));
  let threw = false;
  try {
    studyRun(runs, "nope.ipynb");
  } catch (e) {
    threw = (e as Error).message.includes("nope.ipynb");
  }
  assert(threw);
  assertEquals(parseStudyLogs("# nothing here\n"), []);
});

Deno.test("training curves draw our train/val lines beside the study's, best epochs marked", async () => {
  const history: History = {
    epoch: [0, 1, 2],
    history: {
      loss: [2.5, 2.0, 1.7],
      accuracy: [0.2, 0.35, 0.45],
      val_loss: [2.8, 2.2, 2.4],
      val_accuracy: [0.15, 0.3, 0.28],
      seconds: [10, 9, 9],
    },
    params: { epochs: 3, steps: 10, initialEpoch: 0, samples: 80 },
  };
  const pts = historyPoints(history, "accuracy");
  assertEquals(pts.length, 6);
  assertEquals(pts.filter((p) => p.split === "validation").map((p) => p.epoch), [1, 2, 3]);
  const scratch = studyRun(await studyRuns(), "tf-acmc-simple-orig.ipynb");
  for (const metric of ["accuracy", "loss"] as const) {
    const fig = trainingCurves(history, { metric, study: scratch });
    const html = fig.outerHTML;
    // 4 lines: ours and the study's, training and validation
    assert((html.match(/<path/g) ?? []).length >= 4);
    assert(html.includes('stroke-dasharray="5,4"'), "the study's curves are dashed");
    const best = metric === "accuracy" ? "best 0.300" : "best 2.200";
    assert(html.includes(best), `our best validation ${metric} is labelled`);
    assert(html.includes(metric === "accuracy" ? "study best 0.567" : "study best 1.973"));
  }
  const bare = trainingCurves({ ...history, history: { loss: [1, 0.5, 0.4] } }, { metric: "loss" });
  assert(!bare.outerHTML.includes("5,4"));
  let threw = false;
  try {
    trainingCurves({ ...history, history: {} });
  } catch (e) {
    threw = (e as Error).message.includes("accuracy");
  }
  assert(threw);
  // No run of ours (e.g. no ImageNet weight file): the study's curves alone.
  const studyOnly = trainingCurves(null, { metric: "accuracy", study: scratch }).outerHTML;
  assert(studyOnly.includes('stroke-dasharray="5,4"') && studyOnly.includes("study best 0.567"));
  assert(studyOnly.includes("no run of ours"));
  threw = false;
  try {
    trainingCurves(null);
  } catch (e) {
    threw = (e as Error).message.includes("no history and no study");
  }
  assert(threw);
});

Deno.test("parseConfusionCsv names the source and line of bad input", () => {
  const ok = parseConfusionCsv('t\\p,a,"b, c"\na,1,2\n"b, c",0,3\n');
  assertEquals(ok.labels, ["a", "b, c"]);
  assertEquals(ok.matrix, [[1, 2], [0, 3]]);
  assertThrows(() => parseConfusionCsv("t,a,b\na,1,2\nb,0,-1\n", "x.csv"), SyntaxError, "x.csv:3");
  assertThrows(
    () => parseConfusionCsv("t,a,b\nb,1,2\na,0,1\n", "x.csv"),
    SyntaxError,
    'row label "b"',
  );
  assertThrows(() => parseConfusionCsv("t,a,b\na,1,2\n", "x.csv"), SyntaxError, "2 class columns");
  assertThrows(() => parseConfusionCsv("t,a\na,1,2\n", "x.csv"), SyntaxError, "3 fields");
});

Deno.test("the reference figures agree with each other: counts, split, confusion matrix, summary", async () => {
  assertEquals(ACMC_CLASSES.length, 23);
  assertEquals(ACMC_TOTAL, 6462);
  assertEquals(ACMC_SPLIT.train + ACMC_SPLIT.validation, ACMC_TOTAL);
  const { labels, matrix } = await studyConfusion();
  assertEquals(labels, [...ACMC_CLASSES]);
  assertEquals(matrix.flat().reduce((a, b) => a + b, 0), ACMC_SPLIT.validation);
  assertEquals(matrix.reduce((s, row, i) => s + row[i], 0), 817);
  const summary = await studySummary();
  const value = (key: string) => summary.find((e) => e.key === key)?.value;
  assertEquals(value("dataset.images"), ACMC_TOTAL);
  assertEquals(value("dataset.train"), ACMC_SPLIT.train);
  assertEquals(STUDY_SIZE_SWEEP.map((s) => s.size), [128, 256, 512]);
  assert(ACMC_COUNTS["Archie"] === 1284 && Object.isFrozen(ACMC_COUNTS));
  const bad = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(bad, "{}");
    await assert.rejects(studySummary(bad), (e: Error) => e.message.includes(bad));
  } finally {
    await Deno.remove(bad);
  }
});
