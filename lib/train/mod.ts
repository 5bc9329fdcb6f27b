/**
 * Keras-faithful training of tfjs models on image datasets: {@linkcode fit},
 * {@linkcode evaluate}, {@linkcode predict}, the callbacks
 * {@linkcode earlyStopping} and {@linkcode modelCheckpoint}, atomic
 * checkpoints ({@linkcode saveCheckpoint}, {@linkcode loadCheckpoint}),
 * and seeded model building ({@linkcode withSeed}).
 *
 * @example
 * ```ts
 * import { initEngine } from "../lib/engine/mod.ts";
 * import { earlyStopping, fit, loadCheckpoint, modelCheckpoint, withSeed } from "../lib/train/mod.ts";
 * await initEngine();
 * const model = withSeed(123, () => buildModel());
 * const ckpt = modelCheckpoint({ path: "out/best.ckpt", monitor: "val_accuracy", saveBestOnly: true });
 * const history = await fit(model, train, {
 *   epochs: 20, learningRate: 1e-4, validationData: valid,
 *   callbacks: [earlyStopping({ monitor: "val_accuracy", patience: 5 }), ckpt],
 * });
 * await loadCheckpoint(model, ckpt.lastPath!);
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./seed.ts";
export * from "./checkpoint.ts";
export * from "./callbacks.ts";
export * from "./fit.ts";
export * from "./predictions.ts";
export * from "./recipe.ts";
export * from "./classify.ts";
export * from "./keras_checkpoint.ts";
export * from "./estimate.ts";
export * from "./lr_schedule.ts";
export * from "./logit_adjustment.ts";
export * from "./graph_step.ts";
