/**
 * The one folder walk of this project: Python's `os.walk` (top-down), with
 * the choices its callers need (follow links, fail or skip on an unreadable
 * folder, sort names, leave names out).
 *
 * @module
 */

/** One folder met by {@linkcode walk}. */
export interface WalkEntry {
  /** The folder: `top`, or a sub-folder path built as `os.path.join` does (`root/name`). */
  root: string;
  /** Names of its sub-folders that the walk enters next, in order. */
  dirs: string[];
  /** Names of everything else in it (files, links to files, broken links). */
  files: string[];
}

/** Options of {@linkcode walk}. */
export interface WalkOptions {
  /**
   * Enter links to folders (default true). When false, a link to a folder is
   * in neither `dirs` nor `files`.
   */
  followLinks?: boolean;
  /**
   * An unreadable folder: `"throw"` an error naming it (default) or `"skip"`
   * it silently, as `os.walk` does by default.
   */
  onError?: "throw" | "skip";
  /** Orders the names within each folder (default: the order the system lists them). */
  compare?: (a: string, b: string) => number;
  /** Keeps only the entries (files and folders) whose name passes (default: all). */
  include?: (name: string) => boolean;
}

/** `os.path.join(root, name)` for a plain name: no normalisation of `root`. */
function child(root: string, name: string): string {
  return root === "" || root.endsWith("/") ? root + name : `${root}/${name}`;
}

async function isDirectory(entry: Deno.DirEntry, path: string): Promise<boolean> {
  if (entry.isDirectory) return true;
  if (!entry.isSymlink) return false;
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * Every folder under `top` (itself first), depth first, each with its
 * sub-folders and other entries.
 *
 * @example
 * ```ts
 * for await (const { root, files } of walk("data/acmc", { compare: (a, b) => a < b ? -1 : 1 })) {
 *   console.log(root, files.length);
 * }
 * ```
 */
export async function* walk(top: string, options: WalkOptions = {}): AsyncGenerator<WalkEntry> {
  const followLinks = options.followLinks ?? true;
  const entries: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(top)) {
      if (!options.include || options.include(e.name)) entries.push(e);
    }
  } catch (e) {
    if (options.onError === "skip") return;
    throw new Error(`cannot read folder ${top}: ${(e as Error).message}`);
  }
  if (options.compare) entries.sort((a, b) => options.compare!(a.name, b.name));
  const dirs: string[] = [];
  const files: string[] = [];
  for (const e of entries) {
    if (!(await isDirectory(e, child(top, e.name)))) files.push(e.name);
    else if (followLinks || !e.isSymlink) dirs.push(e.name);
  }
  yield { root: top, dirs, files };
  for (const d of dirs) yield* walk(child(top, d), options);
}
