/**
 * Memory budget of a training run: an estimate for (model, image size,
 * batch size), the memory at hand, and a fit/refuse decision.
 *
 * @example
 * ```ts
 * import { checkFits, estimateTrainingMemory } from "../lib/budget/mod.ts";
 * const est = estimateTrainingMemory(resnet50({ inputShape: [1024, 1024, 3], classes: 23 }), {
 *   batchSize: 8,
 * });
 * const { fits, message } = await checkFits(est);
 * ```
 * @module
 */
export * from "./memory.ts";
