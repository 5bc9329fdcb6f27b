/**
 * Experiments that compare training set-ups across runs, one file per
 * experiment, named for what it does; each trains through lib/train's
 * recipe (`trainAndEvaluate`):
 *
 * - study_data.ts: the study's split of a dataset folder ({@linkcode studyData});
 * - from_scratch.ts: ResNet50 from scratch ({@linkcode trainFromScratch});
 * - transfer.ts: a frozen ImageNet ResNet50 under the study's head ({@linkcode imagenetTransfer});
 * - image_size.ts: the same model at several sizes, memory checks, progressive resizing;
 * - per_class.ts: what accuracy hides, per class, from saved predictions;
 * - imbalance.ts: class weights and resampling strategies compared.
 *
 * @example
 * ```ts
 * const { train, valid } = await studyData(dir, { imageSize: 64 });
 * const run = await trainFromScratch({ train, valid, epochs: 3, checkpointDir: outDir("checkpoints", "scratch") });
 * ```
 * @module
 */
export * from "./study_data.ts";
export * from "./from_scratch.ts";
export * from "./transfer.ts";
export * from "./image_size.ts";
export * from "./per_class.ts";
export * from "./imbalance.ts";
export * from "./profiles.ts";
export * from "./shared_runs.ts";
export * from "./step_cost.ts";
