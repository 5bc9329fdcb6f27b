import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { initEngine, tf } from "../lib/engine/mod.ts";
import {
  type EarlyStopping,
  earlyStopping,
  fit,
  formatCheckpointPath,
  type ModelCheckpoint,
  modelCheckpoint,
  monitorDirection,
  readCheckpointInfo,
  withSeed,
} from "../lib/train/mod.ts";
import type { Callback, TrainingContext } from "../lib/train/mod.ts";
import { runOracle } from "./_python.ts";
import { memoryDataset } from "./_train_data.ts";

await initEngine();

// Scripted sequences: the study's own val_accuracy runs (reference/acmc-blog-epoch-logs.md),
// plus plateaus, ties, noise and a falling loss.
const SCRATCH_256 = [
  0.1084,
  0.2314,
  0.3398,
  0.4164,
  0.4218,
  0.4187,
  0.4203,
  0.4373,
  0.4536,
  0.4543,
  0.4853,
  0.4946,
  0.4443,
  0.5302,
  0.541,
  0.4536,
  0.5286,
  0.5666,
  0.4319,
  0.5457,
];
const SIZE_128 = [
  0.2167,
  0.2616,
  0.2763,
  0.356,
  0.3901,
  0.3854,
  0.3553,
  0.4296,
  0.3653,
  0.3916,
  0.4156,
  0.3878,
  0.3947,
  0.40,
  0.41,
  0.42,
  0.43,
  0.44,
  0.45,
  0.46,
];
const TIES = [0.5, 0.5, 0.6, 0.6, 0.6, 0.6, 0.61, 0.61, 0.61, 0.61, 0.61, 0.7, 0.7, 0.7, 0.7, 0.7];
const LOSS = [
  2.6,
  2.3,
  2.4,
  2.2,
  2.2000001,
  2.3,
  2.5,
  2.19,
  2.8,
  2.9,
  3.0,
  3.1,
  3.2,
  3.3,
  3.4,
  3.5,
];
const NOISY = Array.from({ length: 16 }, (_, i) => 0.3 + 0.02 * i + 0.05 * Math.sin(i * 2.1));

interface Scenario {
  fits: Record<string, number[]>[];
  epochs: number;
  early: {
    monitor?: string;
    min_delta?: number;
    patience?: number;
    mode?: "auto" | "min" | "max";
    baseline?: number;
    restore_best_weights?: boolean;
    start_from_epoch?: number;
  } | null;
  checkpoint: {
    monitor?: string;
    mode?: "auto" | "min" | "max";
    save_best_only?: boolean;
    initial_value_threshold?: number;
  } | null;
}

interface Outcome {
  epochs_run: number;
  stopped_epoch: number | null;
  best_epoch: number | null;
  early_best: number | null;
  weights_epoch: number;
  saved_epochs: number[] | null;
  checkpoint_best: number | null;
}

const acc = (s: number[]) => ({ val_accuracy: s });
const SCENARIOS: Scenario[] = [
  // the study's set-up: EarlyStopping(val_accuracy, patience 5) + ModelCheckpoint(best only)
  ...[SCRATCH_256, SIZE_128, TIES, NOISY].map((s) => ({
    fits: [acc(s)],
    epochs: s.length,
    early: { monitor: "val_accuracy", patience: 5 },
    checkpoint: { monitor: "val_accuracy", save_best_only: true },
  })),
  {
    fits: [acc(SCRATCH_256)],
    epochs: 20,
    early: { monitor: "val_accuracy", patience: 2, restore_best_weights: true },
    checkpoint: { monitor: "val_accuracy", save_best_only: false },
  },
  {
    fits: [acc(TIES)],
    epochs: 16,
    early: { monitor: "val_accuracy", patience: 0 },
    checkpoint: { monitor: "val_accuracy", save_best_only: true, initial_value_threshold: 0.55 },
  },
  {
    fits: [acc(NOISY)],
    epochs: 16,
    early: { monitor: "val_accuracy", patience: 3, min_delta: 0.03, restore_best_weights: true },
    checkpoint: null,
  },
  {
    fits: [acc(SCRATCH_256)],
    epochs: 20,
    early: { monitor: "val_accuracy", patience: 3, baseline: 0.45 },
    checkpoint: null,
  },
  {
    fits: [acc(SCRATCH_256)],
    epochs: 20,
    early: {
      monitor: "val_accuracy",
      patience: 2,
      start_from_epoch: 6,
      restore_best_weights: true,
    },
    checkpoint: null,
  },
  {
    fits: [{ val_loss: LOSS }],
    epochs: 16,
    early: { patience: 3 }, // defaults: monitor val_loss, mode auto -> min
    checkpoint: { save_best_only: true },
  },
  {
    fits: [{ val_loss: LOSS }],
    epochs: 16,
    early: { monitor: "val_loss", patience: 2, min_delta: 0.05, mode: "min" },
    checkpoint: { monitor: "val_loss", mode: "max", save_best_only: true },
  },
  {
    fits: [acc(NOISY)],
    epochs: 16,
    early: { monitor: "val_accuracy", mode: "min", patience: 1 },
    checkpoint: null,
  },
  // the size sweep's flaw: one pair of callbacks reused across three fits
  {
    fits: [acc(SIZE_128), acc(SCRATCH_256), acc(NOISY.map((v) => v + 0.1))],
    epochs: 16,
    early: { monitor: "val_accuracy", patience: 5 },
    checkpoint: { monitor: "val_accuracy", save_best_only: true },
  },
];

/** Our side of a scenario: real `fit` runs with the same scripted logs and epoch stamps. */
async function ours(sc: Scenario, dir: string): Promise<Outcome[]> {
  const input = tf.input({ shape: [1, 1, 2] });
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, activation: "softmax", name: "out" }).apply(flat);
  const model = withSeed(1, () => tf.model({ inputs: input, outputs: out as tf.SymbolicTensor }));
  const ds = memoryDataset([[0, 0], [0, 0], [0, 0], [0, 0]], [0, 1, 0, 1], {
    batchSize: 4,
    imageSize: [1, 1],
    channels: 2,
    classes: 2,
  });
  const e = sc.early, c = sc.checkpoint;
  const early: EarlyStopping | null = e
    ? earlyStopping({
      monitor: e.monitor,
      minDelta: e.min_delta,
      patience: e.patience,
      mode: e.mode,
      baseline: e.baseline,
      restoreBestWeights: e.restore_best_weights,
      startFromEpoch: e.start_from_epoch,
    })
    : null;
  const ckpt: ModelCheckpoint | null = c
    ? modelCheckpoint({
      path: join(dir, "ck_{epoch:03d}.ckpt"),
      monitor: c.monitor,
      mode: c.mode,
      saveBestOnly: c.save_best_only,
      saveWeightsOnly: true,
      initialValueThreshold: c.initial_value_threshold,
      saveHistory: false,
    })
    : null;
  const results: Outcome[] = [];
  for (const values of sc.fits) {
    for await (const f of Deno.readDir(dir)) await Deno.remove(join(dir, f.name));
    const script: Callback = {
      onEpochEnd(epoch: number, logs, ctx: TrainingContext) {
        for (const [name, seq] of Object.entries(values)) logs[name] = seq[epoch];
        const bias = ctx.model.getLayer("out").weights[1];
        bias.write(tf.tensor1d([100 + epoch, 0]));
      },
    };
    const history = await fit(model, ds, {
      epochs: sc.epochs,
      optimizer: tf.train.sgd(0),
      callbacks: [script, ...(early ? [early] : []), ...(ckpt ? [ckpt] : [])],
      verbose: 0,
    });
    const saved: number[] = [];
    for await (const f of Deno.readDir(dir)) {
      const info = await readCheckpointInfo(join(dir, f.name));
      assertEquals(f.name, `ck_${String(info.epoch! + 1).padStart(3, "0")}.ckpt`);
      saved.push(info.epoch!);
    }
    saved.sort((a, b) => a - b);
    const bias = await model.getLayer("out").weights[1].read().data();
    results.push({
      epochs_run: history.epoch.length,
      stopped_epoch: early ? early.stoppedEpoch : null,
      best_epoch: early ? early.bestEpoch : null,
      early_best: early ? early.best : null,
      weights_epoch: Math.round(bias[0] - 100),
      saved_epochs: ckpt ? saved : null,
      checkpoint_best: ckpt ? ckpt.best : null,
    });
  }
  model.dispose();
  return results;
}

Deno.test("earlyStopping and modelCheckpoint stop, restore and save at Keras 3's epochs", async () => {
  const keras = await runOracle<Outcome[][]>("keras_callbacks.py", SCENARIOS);
  const dir = await Deno.makeTempDir({ prefix: "acmc-callbacks-" });
  try {
    for (const [i, sc] of SCENARIOS.entries()) {
      const mine = await ours(sc, dir);
      const round = (o: Outcome[]) =>
        o.map((r) => ({
          ...r,
          early_best: r.early_best === null ? null : Math.fround(r.early_best),
          checkpoint_best: r.checkpoint_best === null ? null : Math.fround(r.checkpoint_best),
        }));
      assertEquals(
        round(mine),
        round(keras[i]),
        `scenario ${i}: ${JSON.stringify(sc).slice(0, 200)}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // the study's scratch run never stops early with patience 5; its best is epoch 18 (index 17)
  assertEquals(keras[0][0].epochs_run, 20);
  assertEquals(keras[0][0].best_epoch, 17);
  // the 128 px sweep fit stops after epoch 13, as in the study's log
  assertEquals(keras[1][0].epochs_run, 13);
});

Deno.test("monitor directions and checkpoint path templates follow Keras", () => {
  assertEquals(monitorDirection("val_loss", "auto"), "min");
  assertEquals(monitorDirection("accuracy", "auto"), "max");
  assertEquals(monitorDirection("val_accuracy", "min"), "min");
  let threw = false;
  try {
    monitorDirection("val_f1", "auto");
  } catch (e) {
    threw = (e as Error).message.includes("mode");
  }
  assertEquals(threw, true);
  assertEquals(
    formatCheckpointPath("w_{epoch:02d}_{val_accuracy:.3f}.ckpt", 4, { val_accuracy: 0.56656 }),
    "w_05_0.567.ckpt",
  );
  assertEquals(formatCheckpointPath("best.ckpt", 4, {}), "best.ckpt");
});
