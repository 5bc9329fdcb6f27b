/**
 * Files and output shared by every layer: the atomic write, the folder walk,
 * XML escaping and the progress-reporter interface. Imports nothing of lib/.
 *
 * @example
 * ```ts
 * import { escapeXml, walk, writeFileAtomic } from "../lib/io/mod.ts";
 * await writeFileAtomic("out/note.txt", escapeXml("a < b"));
 * for await (const { root, files } of walk("out")) console.log(root, files);
 * ```
 *
 * @module
 */
export { writeAtomically, writeFileAtomic, type WriteFileAtomicOptions } from "./atomic.ts";
export { walk, type WalkEntry, type WalkOptions } from "./walk.ts";
export { escapeXml } from "./xml.ts";
export {
  defaultProgress,
  type Progress,
  type ProgressReporter,
  setDefaultProgress,
  silentProgress,
} from "./progress.ts";
