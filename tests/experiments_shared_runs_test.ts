import assert, { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { join } from "node:path";
import {
  departures,
  findSharedRun,
  runSpec,
  sameRun,
  type SharedRun,
  STANDIN_PROFILE,
  STUDY_PROFILE,
  trainingProfile,
} from "../lib/experiments/mod.ts";

const spec = runSpec({
  dataset: "0123456789abcdef",
  imageSize: 48,
  epochs: 4,
  batchSize: 32,
  learningRate: 1e-3,
  learningRateDecay: 0.5,
  batchNormMomentum: 0.9,
  patience: 5,
  seed: 123,
  validationSplit: 0.2,
  maxTrain: 0,
  maxVal: 0,
});

function run(dir: string, s = spec, predictionsPath: string | null = null): SharedRun {
  return {
    spec: s,
    notebook: "02-simple-resnet",
    history: {
      epoch: [0],
      history: { val_accuracy: [0.5] },
      params: { epochs: 1, steps: 1, initialEpoch: 0, samples: 8 },
    },
    bestEpoch: 1,
    bestValAccuracy: 0.5,
    secondsPerEpoch: 10,
    peakRssBytes: 1e9,
    predictionsPath: predictionsPath && join(dir, predictionsPath),
  };
}

Deno.test("findSharedRun: finds a run with the very same settings, and only that", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertEquals(await findSharedRun("02-simple-resnet", spec, dir), null); // no results yet
    const other = { ...spec, imageSize: 64 };
    await Deno.writeTextFile(
      join(dir, "02-simple-resnet.json"),
      JSON.stringify({ runs: [run(dir, other), run(dir)] }),
    );
    assertEquals((await findSharedRun("02-simple-resnet", spec, dir))?.spec, spec);
    assertEquals(
      await findSharedRun("02-simple-resnet", { ...spec, dataset: "another" }, dir),
      null,
    );
    assertEquals(
      await findSharedRun("02-simple-resnet", { ...spec, strategy: "oversample" }, dir),
      null,
    );
    // A run whose predictions file is gone is not reused.
    await Deno.writeTextFile(
      join(dir, "02-simple-resnet.json"),
      JSON.stringify({ runs: [run(dir, spec, "gone.json")] }),
    );
    assertEquals(await findSharedRun("02-simple-resnet", spec, dir), null);
    await Deno.writeTextFile(join(dir, "gone.json"), "{}");
    assert(await findSharedRun("02-simple-resnet", spec, dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runSpec fills plain training's defaults; sameRun compares every field", () => {
  assertEquals([spec.strategy, spec.stepsPerEpoch, spec.model], [
    "baseline",
    0,
    "resnet50-scratch",
  ]);
  assert(sameRun(spec, { ...spec }));
  assert(!sameRun(spec, { ...spec, learningRate: 1e-4 }));
});

Deno.test("profiles: the study's settings, the stand-in's, and the line naming the departures", () => {
  assertEquals(trainingProfile("study"), {
    ...STUDY_PROFILE,
    sizes: [128, 256, 512],
    strategies: [...STUDY_PROFILE.strategies],
  });
  assertEquals(trainingProfile("standin").imageSize, STANDIN_PROFILE.imageSize);
  throws(() => trainingProfile("fast"), /unknown profile "fast"/);
  assertEquals(departures(STUDY_PROFILE), "study profile: the study's own settings");
  const line = departures(trainingProfile("standin"), ["imageSize", "batchSize", "seed"]);
  assertEquals(
    line,
    `stand-in profile, departs from the study: ${STANDIN_PROFILE.imageSize} px (study: 256 px), ` +
      `batch ${STANDIN_PROFILE.batchSize} (study: batch 8)`,
  );
});
