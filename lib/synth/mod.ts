/**
 * The synthetic ACMC stand-in: the project's embedded default dataset, made
 * when the real Kaggle download is absent (`deno task synth`).
 *
 * @example
 * ```ts
 * import { ensureDataset, generateStandIn } from "../lib/synth/mod.ts";
 * await generateStandIn({ scale: 0.1, outDir: "/tmp/acmc-small", seed: 1 });
 * const { dir } = await ensureDataset(); // the dataset the notebooks use, made if missing
 * ```
 * @module
 */
export { scaledCounts } from "./acmc.ts";
export {
  fileName,
  generateStandIn,
  GENERATOR_VERSION,
  MARKER,
  readManifest,
  renderImage,
  type SynthManifest,
  type SynthOptions,
  type SynthResult,
} from "./generate.ts";
export { ensureDataset, type EnsuredDataset, type EnsureOptions } from "./ensure.ts";
export { encodePngRgb } from "./png.ts";
export { sampleSize, SIZE_LIMITS } from "./sizes.ts";
export { imageSvg, recipeFor } from "./image.ts";
export { characterSvg, type Recipe, RECIPES } from "./recipes.ts";
