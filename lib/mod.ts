/**
 * Everything the notebooks use, one import: `import * as acmc from "../lib/mod.ts"`.
 * @module
 */
export * from "./config/mod.ts";
export * from "./random/mod.ts";
export * from "./engine/mod.ts";
export * from "./plots/mod.ts";
export * from "./display/mod.ts";
export * from "./data/mod.ts";
export * from "./synth/mod.ts";
export * from "./models/mod.ts";
export * from "./train/mod.ts";
export * from "./metrics/mod.ts";
export * from "./budget/mod.ts";
export * from "./experiments/mod.ts";
export * from "./jupyter/mod.ts";
