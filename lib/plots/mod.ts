/**
 * Charts of the study, drawn with Observable Plot into a server-side DOM
 * (show them with `display` from lib/display).
 * @module
 */
export * from "./dom.ts";
export * from "./images.ts";
export * from "./metrics.ts";
export * from "./imbalance.ts";
export * from "./training.ts";
export * from "./image_size.ts";
export * from "./predictions.ts";
