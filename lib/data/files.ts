/**
 * Listing a directory of images the way Keras 3's `index_directory` does
 * (`keras/src/utils/dataset_utils.py`): class folders, recursive walk order,
 * extension allow-list, the seeded numpy shuffle and the validation split,
 * and Keras' checks of the split arguments.
 *
 * @module
 */
import { walk } from "../io/mod.ts";
import { legacyShuffle } from "../random/mod.ts";

/** The image extensions Keras indexes (compared lower-case). */
export const ALLOWLIST_FORMATS: readonly string[] = [".bmp", ".gif", ".jpeg", ".jpg", ".png"];

/** Compares strings by Unicode code points, as Python's `sorted` does. */
export function pyCompare(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  while (true) {
    const ca = ia.next();
    const cb = ib.next();
    if (ca.done) return cb.done ? 0 : -1;
    if (cb.done) return 1;
    const d = ca.value.codePointAt(0)! - cb.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

/** Python's `os.path.join` for POSIX paths (no normalisation). */
export function pyJoin(...parts: string[]): string {
  let out = parts[0] ?? "";
  for (const p of parts.slice(1)) {
    if (p.startsWith("/")) out = p;
    else if (out === "" || out.endsWith("/")) out += p;
    else out += "/" + p;
  }
  return out;
}

/** True when `name` ends with one of `formats`, case-insensitively (Keras' test). */
export function hasAllowedFormat(name: string, formats: readonly string[]): boolean {
  const lower = name.toLowerCase();
  return formats.some((f) => lower.endsWith(f));
}

/**
 * Keras' `iter_valid_files` + `index_subdirectory`: the allowed files under
 * `directory`, walked roots sorted as strings, file names sorted within each
 * root, returned as paths relative to `directory`.
 */
export async function listValidFiles(
  directory: string,
  followLinks: boolean,
  formats: readonly string[] = ALLOWLIST_FORMATS,
): Promise<string[]> {
  // os.walk's default onerror=None skips unreadable folders.
  const roots: [string, string[]][] = [];
  for await (const { root, files } of walk(directory, { followLinks, onError: "skip" })) {
    roots.push([root, files]);
  }
  roots.sort((a, b) => pyCompare(a[0], b[0]));
  const out: string[] = [];
  const prefix = directory.endsWith("/") ? directory : directory + "/";
  for (const [root, files] of roots) {
    const rel = root === directory ? "" : root.slice(prefix.length);
    for (const f of [...files].sort(pyCompare)) {
      if (hasAllowedFormat(f, formats)) out.push(rel ? pyJoin(rel, f) : f);
    }
  }
  return out;
}

/** The result of {@linkcode indexDirectory}. */
export interface DirectoryIndex {
  /** File paths (`directory` joined with the relative path), shuffled when asked. */
  filePaths: string[];
  /** Integer label per file, or null when `labels` is null. */
  labels: number[] | null;
  /** Class names (index = label), or null when `labels` is null. */
  classNames: string[] | null;
}

/** Options of {@linkcode indexDirectory}. */
export interface IndexOptions {
  /** `"inferred"` (from the class folders), explicit integer labels, or null. */
  labels?: "inferred" | number[] | null;
  /** Explicit class order (must name subfolders); only with `labels: "inferred"`. */
  classNames?: string[] | null;
  /** Shuffle with numpy's `RandomState(seed)` (default true). */
  shuffle?: boolean;
  /** Seed of the shuffle (integer in [0, 2**32-1]); random when null. */
  seed?: number | null;
  /** Walk into symlinked folders (default false). */
  followLinks?: boolean;
  /** Extension allow-list (default {@linkcode ALLOWLIST_FORMATS}). */
  formats?: readonly string[];
}

/**
 * Keras 3 `index_directory`: lists the images of `directory` with their labels,
 * then (when `shuffle`) shuffles paths and labels with
 * `np.random.RandomState(seed).shuffle` (the same seed for both, as Keras does).
 *
 * @example
 * ```ts
 * const { filePaths, labels, classNames } = await indexDirectory("data/acmc", { seed: 123 });
 * ```
 */
export async function indexDirectory(
  directory: string,
  options: IndexOptions = {},
): Promise<DirectoryIndex> {
  const labelsOpt = options.labels === undefined ? "inferred" : options.labels;
  const shuffle = options.shuffle ?? true;
  const followLinks = options.followLinks ?? false;
  const formats = options.formats ?? ALLOWLIST_FORMATS;
  let classNames = options.classNames ?? null;

  let subdirs: string[];
  if (labelsOpt === "inferred") {
    let stat: Deno.FileInfo;
    try {
      stat = await Deno.stat(directory);
    } catch {
      throw new Error(`Directory not found: ${directory}`);
    }
    if (!stat.isDirectory) throw new Error(`Not a directory: ${directory}`);
    // The folders of the top level only (tf.io.gfile.isdir follows links), sorted.
    const top = await walk(directory, {
      compare: pyCompare,
      include: (name) => !name.startsWith("."),
    }).next();
    subdirs = top.done ? [] : top.value.dirs;
    if (classNames) {
      const have = new Set(subdirs);
      if (!classNames.every((c) => have.has(c))) {
        throw new Error(
          "The `classNames` passed did not match the names of the subdirectories of the " +
            `target directory. Expected: ${JSON.stringify(subdirs)} (or a subset of it), ` +
            `but received: classNames=${JSON.stringify(classNames)}`,
        );
      }
      subdirs = [...classNames];
    }
  } else {
    subdirs = [""];
    if (classNames) {
      throw new Error(
        labelsOpt === null
          ? "When `labels=null` (no labels), argument `classNames` cannot be specified."
          : "When argument `labels` is specified, argument `classNames` cannot be specified " +
            "(the `classNames` will be the sorted list of labels).",
      );
    }
  }
  classNames = subdirs;

  const relPaths: string[] = [];
  let labels: number[] | null = [];
  for (let k = 0; k < subdirs.length; k++) {
    const sub = subdirs[k];
    const files = await listValidFiles(pyJoin(directory, sub), followLinks, formats);
    for (const f of files) {
      relPaths.push(sub ? pyJoin(sub, f) : f);
      labels.push(k);
    }
  }
  if (labelsOpt === null) {
    labels = null;
    classNames = null;
  } else if (labelsOpt !== "inferred") {
    if (labelsOpt.length !== relPaths.length) {
      throw new Error(
        "Expected the lengths of `labels` to match the number of files in the target " +
          `directory. labels.length is ${labelsOpt.length} while we found ${relPaths.length} ` +
          `files in directory ${directory}.`,
      );
    }
    labels = [...labelsOpt];
    classNames = [...new Set(labels)].sort((a, b) => a - b).map(String);
  }
  const filePaths = relPaths.map((p) => pyJoin(directory, p));
  if (shuffle) {
    const seed = options.seed ?? Math.floor(Math.random() * 1e6);
    legacyShuffle(filePaths, seed);
    if (labels) legacyShuffle(labels, seed);
  }
  return { filePaths, labels, classNames };
}

/**
 * Keras' `check_validation_split_arg`: rejects bad combinations of
 * `validationSplit`, `subset`, `shuffle` and `seed` with Keras' messages.
 */
export function checkValidationSplitArg(
  validationSplit: number | null | undefined,
  subset: string | null | undefined,
  shuffle: boolean,
  seed: number | null | undefined,
): void {
  if (validationSplit && !(validationSplit > 0 && validationSplit < 1)) {
    throw new Error(`\`validationSplit\` must be between 0 and 1, received: ${validationSplit}`);
  }
  if ((validationSplit || subset) && !(validationSplit && subset)) {
    throw new Error("If `subset` is set, `validationSplit` must be set, and inversely.");
  }
  if (![undefined, null, "training", "validation", "both"].includes(subset)) {
    throw new Error(
      `\`subset\` must be either "training", "validation" or "both", received: ${subset}`,
    );
  }
  if (validationSplit && shuffle && (seed === null || seed === undefined)) {
    throw new Error(
      "If using `validationSplit` and shuffling the data, you must provide a `seed` argument, " +
        "to make sure that there is no overlap between the training and validation subset.",
    );
  }
}

/**
 * Keras' `get_training_or_validation_split`: validation is the last
 * `int(validationSplit * n)` items, training the rest. Unlike Keras (whose
 * `samples[-0:]` would make validation everything), a split that rounds to
 * zero validation items throws.
 */
export function trainingOrValidationSplit<T>(
  samples: T[],
  labels: number[] | null,
  validationSplit: number | null | undefined,
  subset: "training" | "validation",
): { samples: T[]; labels: number[] | null } {
  if (!validationSplit) return { samples, labels };
  const numVal = Math.floor(validationSplit * samples.length);
  if (numVal === 0) {
    throw new Error(
      `validationSplit=${validationSplit} of ${samples.length} files leaves an empty ` +
        "validation subset (int(validationSplit * n) = 0); use a larger split or more files.",
    );
  }
  const cut = samples.length - numVal;
  if (subset === "training") {
    return { samples: samples.slice(0, cut), labels: labels ? labels.slice(0, cut) : null };
  }
  return { samples: samples.slice(cut), labels: labels ? labels.slice(cut) : null };
}
