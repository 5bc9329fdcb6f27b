/**
 * Experiments that compare training set-ups across runs (one file per
 * experiment; the notebooks call them).
 * @module
 */
export * from "./imbalance.ts";
export * from "./image_size.ts";
export * from "./elephant.ts";
export * from "./study_data.ts";
export * from "./simple_resnet.ts";
