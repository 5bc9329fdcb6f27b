/**
 * The pieces of `deno task study`: what a notebook's run depends on (so an
 * unchanged notebook is not run again), the manifest of earlier runs, and the
 * facts the report shows about the dataset, engine and machine.
 * @module
 */
import { join, relative } from "node:path";
import { existsSync } from "node:fs";
import { datasetDir, outDir, ROOT } from "../config/mod.ts";
import { walk, writeFileAtomic } from "../io/mod.ts";
import type { NotebookRun } from "./runner.ts";

async function sha256(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Every file under `dir`, recursively, sorted; paths relative to `dir`.
 * Skips caches and hidden entries (`__pycache__`, `node_modules`, `.*`) and
 * does not enter links to folders.
 */
export async function listFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const include = (name: string) =>
    name !== "__pycache__" && name !== "node_modules" && !name.startsWith(".");
  for await (const { root, files } of walk(dir, { followLinks: false, onError: "skip", include })) {
    for (const f of files) out.push(relative(dir, join(root, f)));
  }
  return out.sort();
}

/** Hash of the names and contents of every file under `dir` (e.g. lib/). */
export async function hashTree(dir: string): Promise<string> {
  const parts: string[] = [];
  for (const f of await listFiles(dir)) {
    parts.push(f, await sha256(await Deno.readFile(join(dir, f))));
  }
  return await sha256(parts.join("\n"));
}

/** Hash of a dataset's listing: every file's path and size (contents are not read). */
export async function hashListing(dir: string): Promise<string> {
  const parts: string[] = [];
  for (const f of await listFiles(dir)) parts.push(`${f}\t${(await Deno.stat(join(dir, f))).size}`);
  return await sha256(parts.join("\n"));
}

/** What a notebook's run depends on. */
export interface StudyInputs {
  /** The notebook file. */
  notebook: string;
  /** Hash of lib/ (all library code, the runner included). */
  lib: string;
  /** Hash of deno.json and package-lock.json (dependency versions). */
  deps: string;
  /** Hash of the dataset listing. */
  dataset: string;
  /** Parameter overrides (`NAME=VALUE`). */
  params: string[];
  /** Key of the notebook before it in the study ("" for the first): a rerun reruns those after. */
  previous: string;
}

/** The key of a notebook's inputs: equal keys mean the earlier run can be reused. */
export async function inputsKey(inputs: StudyInputs): Promise<string> {
  const nb = await sha256(await Deno.readFile(inputs.notebook));
  return await sha256(
    JSON.stringify([
      nb,
      inputs.lib,
      inputs.deps,
      inputs.dataset,
      [...inputs.params].sort(),
      inputs.previous,
    ]),
  );
}

/** The study's record of successful runs, `<out>/study-manifest.json`. */
export interface Manifest {
  version: 1;
  notebooks: Record<string, { key: string; run: NotebookRun }>;
}

/** Reads the manifest (an empty one when missing or unreadable). */
export async function readManifest(
  path: string = outDir("study-manifest.json"),
): Promise<Manifest> {
  try {
    const m = JSON.parse(await Deno.readTextFile(path));
    if (m?.version === 1 && m.notebooks && typeof m.notebooks === "object") return m as Manifest;
  } catch { /* missing or corrupt: start afresh */ }
  return { version: 1, notebooks: {} };
}

/** Writes the manifest atomically. */
export async function writeManifest(m: Manifest, path: string = outDir("study-manifest.json")) {
  await writeFileAtomic(path, JSON.stringify(m, null, 2));
}

/** True when the manifest holds a successful run with this key whose outputs still exist. */
export function canReuse(m: Manifest, name: string, key: string): boolean {
  const e = m.notebooks[name];
  return !!e && e.key === key && e.run.ok && existsSync(e.run.ipynb) && existsSync(e.run.fragment);
}

/** Facts about the dataset for the report: folder, kind, image and class counts, generator settings. */
export async function datasetFacts(): Promise<Record<string, unknown>> {
  const choice = datasetDir();
  const files = await listFiles(choice.dir);
  const images = files.filter((f) => /\.(png|jpe?g|gif|bmp|webp)$/i.test(f));
  const classes = new Set(images.map((f) => f.split("/")[0]));
  const facts: Record<string, unknown> = {
    folder: choice.dir,
    kind: choice.kind,
    "chosen by": choice.source,
    images: images.length,
    classes: classes.size,
  };
  const marker = join(choice.dir, "SYNTHETIC.json");
  if (existsSync(marker)) {
    try {
      facts.generator = JSON.parse(await Deno.readTextFile(marker));
    } catch { /* not JSON: ignore */ }
  }
  return facts;
}

/**
 * Asks lib/engine what it runs on, in a separate Deno process (loading
 * TensorFlow here would only cost memory): `initEngine()`, then
 * `engineInfo()` when lib/engine exports it (else just the backend name).
 */
export async function engineFacts(): Promise<Record<string, unknown>> {
  const code = `
    const m = await import(${JSON.stringify(new URL("../engine/mod.ts", import.meta.url).href)});
    const backend = await m.initEngine();
    const info = typeof m.engineInfo === "function" ? await m.engineInfo() : { backend };
    console.log("ENGINE_INFO " + JSON.stringify(info));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    cwd: ROOT,
    env: { NO_COLOR: "1", TF_CPP_MIN_LOG_LEVEL: "2" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const line = text.split("\n").find((l) => l.startsWith("ENGINE_INFO "));
  if (!out.success || !line) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" ");
    return { backend: "unknown", error: `could not ask lib/engine: ${err || `exit ${out.code}`}` };
  }
  return JSON.parse(line.slice("ENGINE_INFO ".length));
}

/** Facts about this machine for the report. */
export function machineFacts(): Record<string, unknown> {
  const mem = Deno.systemMemoryInfo();
  return {
    "CPU cores": navigator.hardwareConcurrency,
    "memory": `${(mem.total / 2 ** 30).toFixed(1)} GiB`,
    "OS": `${Deno.build.os} ${Deno.osRelease()} (${Deno.build.arch})`,
    "Deno": Deno.version.deno,
  };
}
