/**
 * Engine selection: the native TensorFlow engine of `@tensorflow/tfjs-node-gpu`
 * on a GPU when TensorFlow sees one, else the same native engine on the CPU,
 * else pure-JS tfjs (with a loud warning naming the cause and the fix).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync, lstatSync, readdirSync, realpathSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cpus } from "node:os";
import { installNodeCompat } from "./compat.ts";
import { installFastGradients } from "./fast_gradients.ts";
import { installConvBias } from "./conv_bias.ts";
import { installColdPageRelease, releaseColdPages } from "./cold_pages.ts";
import { type NativeBackend, nativeBackend } from "./native.ts";
import {
  type OneDnnDecision,
  parseOneDnnSetting,
  resolveOneDnn,
  setOneDnnInUse,
} from "./onednn.ts";

/** The project root (two levels above this file). */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The npm package holding the native addon. */
export const NATIVE_PACKAGE_DIR: string = join(
  ROOT,
  "node_modules",
  "@tensorflow",
  "tfjs-node-gpu",
);

/**
 * Which engine to use.
 * - `"auto"` (default): native on GPU if TensorFlow sees one, else native on
 *   CPU, else pure JS with a warning.
 * - `"gpu"`: native on GPU; an error when no GPU is usable.
 * - `"cpu"`: native on CPU (the GPU is hidden from TensorFlow).
 * - `"js"`: pure-JS tfjs `"cpu"` backend (slow; for comparisons and debugging).
 */
export type EngineChoice = "auto" | "gpu" | "cpu" | "js";

/** Options of {@linkcode initEngine}; each falls back to an environment variable. */
export interface EngineOptions {
  /** The engine to use. Default: `ACMC_ENGINE`, else `"auto"`. */
  engine?: EngineChoice;
  /**
   * Threads inside one op (TensorFlow's `intra_op_parallelism_threads`).
   * Default: `TF_NUM_INTRAOP_THREADS`, else TensorFlow's choice (all cores).
   */
  intraOpThreads?: number;
  /**
   * Threads running independent ops at once (`inter_op_parallelism_threads`).
   * Default: `TF_NUM_INTEROP_THREADS`, else TensorFlow's choice.
   */
  interOpThreads?: number;
  /**
   * Install the engine's training-step fixes ({@linkcode installFastGradients}:
   * native Relu gradient, early release on the gradient tape, per-shape
   * convolution gradients, bias-gradient sums). Default true;
   * `ACMC_FAST_GRADIENTS=0` turns it off (for before/after benchmarks).
   */
  fastGradients?: boolean;
  /** Print no line about the engine chosen (warnings are still printed). Default false. */
  quiet?: boolean;
}

/** Where the libtensorflow in use came from. */
export interface LibTensorFlowInfo {
  /** The addon file (`tfjs_binding.node`). */
  addon: string;
  /** Each library the addon links, with the file it resolves to. */
  libraries: { name: string; path: string }[];
  /** In words: a pip wheel (name, version, folder) or the package's own download. */
  source: string;
}

/** What {@linkcode engineInfo} reports. */
export interface EngineInfo {
  /** The engine in use. */
  engine: "gpu" | "cpu" | "js";
  /** What was asked for (option or `ACMC_ENGINE`). */
  requested: EngineChoice;
  /** The tfjs backend name: `"tensorflow"` (native) or `"cpu"` (pure JS). */
  backend: string;
  /** True when ops run in libtensorflow. */
  native: boolean;
  /** The libtensorflow version (`TF_Version()`), null on pure JS. */
  tfVersion: string | null;
  /** The tfjs version. */
  tfjsVersion: string;
  /** Devices ops run on, e.g. `["/device:CPU:0"]`. */
  devices: string[];
  /** Where libtensorflow came from; null on pure JS. */
  libtensorflow: LibTensorFlowInfo | null;
  /** Thread settings passed to TensorFlow (0 = TensorFlow's default) and the core count. */
  threads: { intraOp: number; interOp: number; cores: number };
  /**
   * The process's memory allocator: `"jemalloc (...)"` when the project's
   * tasks preloaded it (tools/alloc.sh), else `"glibc malloc"`.
   */
  allocator: string;
  /**
   * TensorFlow's oneDNN kernels: on or off, the instruction-set cap
   * (`ONEDNN_MAX_CPU_ISA`), the highest one that survived this machine's probe,
   * and why (lib/engine/onednn.ts).
   */
  onednn: Omit<OneDnnDecision, "probe">;
  /** The TensorFlow environment variables in effect at load. */
  env: Record<string, string>;
  /** Why the engine is not the preferred one (empty when all is well). */
  warnings: string[];
}

const TF_ENV = [
  "TF_ENABLE_ONEDNN_OPTS",
  "ONEDNN_MAX_CPU_ISA",
  "TF_ONEDNN_USE_SYSTEM_ALLOCATOR",
  "TF_CPP_MIN_LOG_LEVEL",
  "TF_NUM_INTRAOP_THREADS",
  "TF_NUM_INTEROP_THREADS",
  "TF_FORCE_GPU_ALLOW_GROWTH",
  "CUDA_VISIBLE_DEVICES",
  "LD_LIBRARY_PATH",
];

/**
 * The environment variable in which the first engine load of a process
 * records its oneDNN decision: `<pid> <JSON>` (a child process inherits it,
 * and ignores it: another pid).
 */
const PROCESS_ONEDNN = "ACMC_ENGINE_ONEDNN_OF_PROCESS";

/** The oneDNN decision this process's libtensorflow was loaded with, if loaded. */
function processOneDnn(): Omit<OneDnnDecision, "probe"> | null {
  const [pid, json] = (Deno.env.get(PROCESS_ONEDNN) ?? "").split(/ (.*)/s);
  if (pid !== String(Deno.pid) || !json) return null;
  try {
    const d = JSON.parse(json) as Omit<OneDnnDecision, "probe">;
    return { ...d, reason: `as this process's first engine load decided: ${d.reason}` };
  } catch {
    return null;
  }
}

let ready: Promise<string> | undefined;
let info: EngineInfo | undefined;

function parseChoice(value: string | undefined, from: string): EngineChoice {
  const v = (value ?? "auto").trim().toLowerCase() || "auto";
  if (v === "auto" || v === "gpu" || v === "cpu" || v === "js") return v;
  throw new Error(`${from}="${value}" is not an engine: use auto, gpu, cpu or js`);
}

function threadCount(value: number | string | undefined, from: string): number {
  if (value === undefined || value === "") return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${from}=${value} is not a thread count (an integer >= 0; 0 = default)`);
  }
  return n;
}

function warnLoudly(lines: string[]): void {
  const bar = "!".repeat(78);
  console.warn([bar, ...lines.map((l) => `!! ${l}`), bar].join("\n"));
}

/** The `nvidia/<lib>/lib` folders of the CUDA pip packages in .venv (GPU wheels). */
export function cudaPipLibDirs(): string[] {
  const lib = join(ROOT, ".venv", "lib");
  const dirs: string[] = [];
  try {
    for (const py of readdirSync(lib)) {
      const nv = join(lib, py, "site-packages", "nvidia");
      if (!existsSync(nv)) continue;
      for (const pkg of readdirSync(nv)) {
        const d = join(nv, pkg, "lib");
        if (existsSync(d)) dirs.push(d);
      }
    }
  } catch { /* no venv: nothing to add */ }
  return dirs.sort();
}

/** GPU names from `nvidia-smi -L`, or [] when there is no such tool or GPU. */
function nvidiaGpus(): string[] {
  try {
    const out = new Deno.Command("nvidia-smi", { args: ["-L"], stdout: "piped", stderr: "null" })
      .outputSync();
    if (!out.success) return [];
    return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.startsWith("GPU "));
  } catch {
    return [];
  }
}

function libInfo(): LibTensorFlowInfo {
  const addon = join(NATIVE_PACKAGE_DIR, "lib", "napi-v8", "tfjs_binding.node");
  const libDir = join(NATIVE_PACKAGE_DIR, "deps", "lib");
  const libraries: { name: string; path: string }[] = [];
  let source = "unknown";
  for (const name of ["libtensorflow_cc.so.2", "libtensorflow_framework.so.2"]) {
    const p = join(libDir, name);
    if (!existsSync(p)) continue;
    libraries.push({ name, path: realpathSync(p) });
  }
  const downloaded = join(libDir, "libtensorflow.so.2.9.1");
  if (libraries.length) {
    const tfDir = dirname(libraries[0].path);
    const site = dirname(tfDir);
    const dist = existsSync(site)
      ? readdirSync(site).find((d) =>
        /^tensorflow(_cpu|_gpu)?-[\d.]+.*\.dist-info$/.test(d) &&
        existsSync(join(site, d, "RECORD"))
      )
      : undefined;
    source = dist
      ? `pip wheel ${dist.replace(/\.dist-info$/, "").replace("-", " ")} (${tfDir})`
      : `libraries in ${tfDir}`;
  } else if (existsSync(downloaded) && !lstatSync(downloaded).isSymbolicLink()) {
    libraries.push({ name: basename(downloaded), path: downloaded });
    source = "libtensorflow 2.9.1 downloaded by the package's own install script";
  }
  return { addon, libraries, source };
}

/**
 * Has TensorFlow build its op and kernel registries now, as `import
 * tensorflow` does in Python: the C API builds them at its first graph
 * (~20 ms of CPU), which was otherwise the first dataset pass's (the graph
 * decoder, lib/data/graph_decode.ts) or the first compiled training step's.
 * Needs the FFI permission; without it nothing is done (the graph paths are
 * then off too).
 */
function buildOpRegistry(lib: LibTensorFlowInfo): void {
  const path = capiLibrary(lib);
  if (!path) return;
  try {
    // two functions of its own: tf_c.ts (the C API binding) builds on this
    // module, which may not import it back (lib/ imports run one way)
    const capi = Deno.dlopen(
      path,
      {
        TF_NewGraph: { parameters: [], result: "pointer" },
        TF_DeleteGraph: { parameters: ["pointer"], result: "void" },
      } as const,
    );
    try {
      capi.symbols.TF_DeleteGraph(capi.symbols.TF_NewGraph());
    } finally {
      capi.close();
    }
  } catch {
    // no FFI permission, or a libtensorflow without the C API
  }
}

/**
 * The file with TensorFlow's C API among `lib`'s libraries
 * (`libtensorflow_cc.so.2` of the pip wheel, or the package's own), or
 * undefined.
 */
export function capiLibrary(lib: LibTensorFlowInfo | null | undefined): string | undefined {
  return lib?.libraries.find((l) => /^libtensorflow(_cc)?\.so/.test(l.name))?.path;
}

function explainLoadFailure(err: unknown): { cause: string; fix: string } {
  const msg = err instanceof Error ? err.message : String(err);
  const cause = msg.split("\n")[0];
  if (/tfjs_binding\.node/.test(msg) && /can ?not be found|not found/i.test(msg)) {
    return { cause, fix: "build the addon: `bash tools/setup.sh npm venv engine`" };
  }
  if (/ffi|NotCapable|PermissionDenied|Requires .* access/i.test(msg)) {
    return { cause, fix: "run Deno with --allow-ffi --allow-read --allow-env (or -A)" };
  }
  if (/libtensorflow|cannot open shared object/i.test(msg)) {
    return {
      cause,
      fix: "the addon's libtensorflow links are broken (venv changed?): " +
        "`bash tools/build-engine.sh --force`",
    };
  }
  return {
    cause,
    fix: "see docs/engine.md; `bash tools/build-engine.sh --force` rebuilds the addon",
  };
}

/** Selects the pure-JS backend and records why (forced, or the native engine failed). */
async function useJsEngine(
  base: Pick<EngineInfo, "requested" | "tfjsVersion" | "threads" | "allocator" | "onednn">,
  env: Record<string, string>,
  warning: string,
): Promise<string> {
  await tf.setBackend("cpu");
  info = {
    ...base,
    engine: "js",
    backend: tf.getBackend(),
    native: false,
    tfVersion: null,
    devices: ["JavaScript (main thread)"],
    libtensorflow: null,
    env,
    warnings: [warning],
  };
  return info.backend;
}

async function load(options: EngineOptions): Promise<string> {
  const requested = parseChoice(options.engine ?? Deno.env.get("ACMC_ENGINE"), "ACMC_ENGINE");
  const intraOp = threadCount(
    options.intraOpThreads ?? Deno.env.get("TF_NUM_INTRAOP_THREADS"),
    "TF_NUM_INTRAOP_THREADS",
  );
  const interOp = threadCount(
    options.interOpThreads ?? Deno.env.get("TF_NUM_INTEROP_THREADS"),
    "TF_NUM_INTEROP_THREADS",
  );
  const threads = { intraOp, interOp, cores: cpus().length };
  const warnings: string[] = [];
  const dnnSetting = Deno.env.get("ACMC_ONEDNN");
  parseOneDnnSetting(dnnSetting); // a bad ACMC_ONEDNN is an error, whatever the engine
  const noDnn = (reason: string) => ({ enabled: false, isa: null, survived: null, reason });
  const base = {
    requested,
    tfjsVersion: tf.version.tfjs,
    threads,
    allocator: allocator(),
    onednn: noDnn("pure-JS engine"),
  };

  if (requested === "js") {
    if (!options.quiet) console.warn("[engine] pure-JS tfjs forced: expect ~30x slower training");
    return await useJsEngine(
      base,
      {},
      "pure-JS engine forced (ACMC_ENGINE=js or engine: 'js'): ~30x slower",
    );
  }

  // Everything below must be in the environment before libtensorflow loads,
  // which happens when the addon is imported: TensorFlow reads these once.
  installNodeCompat();
  // oneDNN: on some CPUs a ResNet50 training step dies with SIGFPE with it on
  // (a divide error inside libtensorflow_cc.so.2; Python TF too), elsewhere it
  // may be faster: probed once per machine in child processes (onednn.ts).
  const gpus = requested === "cpu" ? [] : nvidiaGpus();
  const lib = libInfo();
  let dnn: OneDnnDecision;
  // One libtensorflow per process, which reads its oneDNN variables once: an
  // isolate that loads the engine after another one of the same process
  // (`deno test --parallel` runs test files as workers of one process) takes
  // that first decision, whatever its own environment asks (else it would
  // route convolution gradients to kernels the loaded library renamed).
  const first = processOneDnn();
  if (first) {
    dnn = { ...first, probe: null };
  } else if (requested === "gpu" || gpus.length > 0) {
    dnn = { ...noDnn("GPU machine: the CPU's oneDNN is not probed"), probe: null };
  } else if (lib.libraries.length === 0) {
    dnn = { ...noDnn("no libtensorflow found to probe"), probe: null };
  } else {
    try {
      dnn = await resolveOneDnn({
        setting: dnnSetting,
        libtensorflow: `${lib.source}; ${lib.libraries.map((l) => l.path).join(", ")}`,
        onProbe: (isas) => {
          if (options.quiet) return;
          console.warn(
            `[engine] probing TensorFlow's oneDNN on this CPU (${
              isas.join(", ") || "no candidates"
            }), ` +
              "once per machine: child processes, about a minute",
          );
        },
      });
    } catch (e) {
      // No permission to write the cache or start the probe, ...: the engine still runs.
      const msg = (e instanceof Error ? e.message : String(e)).split("\n")[0];
      dnn = { ...noDnn(`the probe could not run: ${msg}`), probe: null };
    }
  }
  if (!first) {
    const { probe: _p, ...decision } = dnn;
    Deno.env.set(PROCESS_ONEDNN, `${Deno.pid} ${JSON.stringify(decision)}`);
  }
  Deno.env.set("TF_ENABLE_ONEDNN_OPTS", dnn.enabled ? "1" : "0");
  if (dnn.enabled && dnn.isa) Deno.env.set("ONEDNN_MAX_CPU_ISA", dnn.isa);
  else Deno.env.delete("ONEDNN_MAX_CPU_ISA");
  if (dnn.enabled && Deno.env.get("TF_ONEDNN_USE_SYSTEM_ALLOCATOR") === undefined) {
    // With oneDNN on, TensorFlow allocates tensors from a pool (BFC) that
    // grows by doubling regions and never shrinks: 64 px ResNet50 training
    // held ~75 MB more than with the process's allocator, no faster.
    Deno.env.set("TF_ONEDNN_USE_SYSTEM_ALLOCATOR", "true");
  }
  const { probe: _probe, ...onednn } = dnn;
  // 2 = errors only: TF's info and warning lines would flood notebooks.
  if (!Deno.env.get("TF_CPP_MIN_LOG_LEVEL")) Deno.env.set("TF_CPP_MIN_LOG_LEVEL", "2");
  if (intraOp > 0) Deno.env.set("TF_NUM_INTRAOP_THREADS", String(intraOp));
  if (interOp > 0) Deno.env.set("TF_NUM_INTEROP_THREADS", String(interOp));
  if (requested === "cpu") {
    // Hide any GPU so TensorFlow places every op on the CPU.
    Deno.env.set("CUDA_VISIBLE_DEVICES", "-1");
  } else if (!Deno.env.get("TF_FORCE_GPU_ALLOW_GROWTH")) {
    // Without it TensorFlow takes all GPU memory at start; notebook kernels
    // and a second process could then not share the GPU.
    Deno.env.set("TF_FORCE_GPU_ALLOW_GROWTH", "true");
  }
  const env: Record<string, string> = {};
  for (const k of TF_ENV) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }

  try {
    await import("@tensorflow/tfjs-node-gpu");
    await tf.setBackend("tensorflow");
  } catch (err) {
    const { cause, fix } = explainLoadFailure(err);
    if (requested !== "auto") {
      throw new Error(
        `ACMC_ENGINE=${requested}: the native TensorFlow engine did not load: ${cause}\nfix: ${fix}`,
      );
    }
    warnLoudly([
      "The native TensorFlow engine did NOT load: falling back to pure-JS tfjs,",
      "which trains ResNet50 about 30x slower.",
      `cause: ${cause}`,
      `fix:   ${fix}`,
      "(set ACMC_ENGINE=js to choose pure JS on purpose and silence this)",
    ]);
    return await useJsEngine(base, env, `native engine failed to load: ${cause}; fix: ${fix}`);
  }
  setOneDnnInUse(dnn.enabled);
  buildOpRegistry(lib);
  if (Deno.env.get("ACMC_COLD_PAGES") !== "0") {
    // Loading touched ~300 MB of library code and data that training never
    // runs again: unmap it now and again in the first training step.
    releaseColdPages();
    installColdPageRelease();
  }

  // The training-step fixes (see fast_gradients.ts).
  if (options.fastGradients ?? Deno.env.get("ACMC_FAST_GRADIENTS") !== "0") {
    installFastGradients();
    installConvBias(); // convolution + bias in one kernel under oneDNN (conv_bias.ts)
  }
  const backend = tf.backend() as unknown as NativeBackend;
  const onGpu = Boolean(backend.isUsingGpuDevice);
  if (!onGpu && gpus.length > 0) {
    const dirs = cudaPipLibDirs();
    const fix = dirs.length
      ? `start the process with LD_LIBRARY_PATH=${dirs.join(":")}`
      : "install the GPU wheel: `ACMC_GPU=1 bash tools/setup.sh venv engine`";
    const msg = `nvidia-smi sees ${gpus.length} GPU(s) but TensorFlow runs on the CPU; fix: ${fix}`;
    warnings.push(msg);
    if (requested === "gpu") throw new Error(`ACMC_ENGINE=gpu: ${msg}`);
    warnLoudly(["TensorFlow is NOT using the GPU.", msg]);
  } else if (!onGpu && requested === "gpu") {
    throw new Error(
      "ACMC_ENGINE=gpu: TensorFlow sees no GPU (none found by nvidia-smi). " +
        "Use ACMC_ENGINE=cpu or auto on this machine.",
    );
  }
  info = {
    ...base,
    onednn,
    engine: onGpu ? "gpu" : "cpu",
    backend: tf.getBackend(),
    native: true,
    tfVersion: backend.binding.TF_Version,
    devices: onGpu
      ? [
        ...gpus.map((g, i) => `/device:GPU:${i} (${g.replace(/^GPU \d+: /, "")})`),
        "/device:CPU:0",
      ]
      : ["/device:CPU:0"],
    libtensorflow: lib,
    env,
    warnings,
  };
  if (!options.quiet) {
    console.log(
      `[engine] TensorFlow ${info.tfVersion} (${info.engine.toUpperCase()}) via tfjs-node, ` +
        `${info.libtensorflow?.source}`,
    );
  }
  return info.backend;
}

/**
 * Loads and selects the engine (once per process) and returns the tfjs
 * backend name in use (`"tensorflow"` or `"cpu"`).
 *
 * TensorFlow options (oneDNN as this machine's probe found best, see
 * lib/engine/onednn.ts; log level, threads, GPU memory growth) are put in the
 * environment before libtensorflow loads.
 * Later calls return the first call's result; asking for another engine
 * afterwards is an error (libtensorflow cannot be reloaded).
 *
 * @example
 * ```ts
 * import { initEngine, engineInfo, tf } from "../lib/engine/mod.ts";
 * await initEngine();               // or initEngine({ engine: "cpu" })
 * console.log(engineInfo().devices); // ["/device:CPU:0"]
 * ```
 */
export function initEngine(options: EngineOptions = {}): Promise<string> {
  if (ready) {
    const asked = options.engine;
    if (!asked || asked === "auto") return ready;
    return ready.then((backend) => {
      if (info && info.engine !== asked) {
        throw new Error(
          `initEngine({engine: "${asked}"}): the engine is already "${info.engine}" in this ` +
            "process (libtensorflow cannot be reloaded); choose it before the first " +
            "initEngine() call, e.g. with ACMC_ENGINE",
        );
      }
      return backend;
    });
  }
  ready = load(options);
  ready.catch(() => {
    ready = undefined;
  });
  return ready;
}

/**
 * What the engine is: backend, TensorFlow version, devices, where
 * libtensorflow came from, thread settings. Call after {@linkcode initEngine}.
 */
export function engineInfo(): EngineInfo {
  if (!info) throw new Error("engineInfo(): call `await initEngine()` first");
  return structuredClone(info);
}

/** Which allocator this process runs on (jemalloc is preloaded by tools/alloc.sh). */
function allocator(): string {
  try {
    if (/libjemalloc/.test(Deno.readTextFileSync("/proc/self/maps"))) {
      return `jemalloc (${Deno.env.get("MALLOC_CONF") || "default settings"})`;
    }
  } catch {
    // no /proc (not Linux): the platform's default
  }
  return Deno.build.os === "linux" ? "glibc malloc" : "system malloc";
}

/** A one-paragraph, human-readable summary of {@linkcode engineInfo}. */
export function describeEngine(): string {
  const i = engineInfo();
  const t = (n: number) => (n > 0 ? String(n) : "default");
  return [
    `engine: ${i.engine} (backend "${i.backend}", requested ${i.requested})`,
    `TensorFlow: ${i.tfVersion ?? "none (pure JS)"}, tfjs ${i.tfjsVersion}`,
    `devices: ${i.devices.join(", ")}`,
    `libtensorflow: ${i.libtensorflow?.source ?? "-"}`,
    `threads: intra-op ${t(i.threads.intraOp)}, inter-op ${t(i.threads.interOp)}, ` +
    `${i.threads.cores} cores`,
    `allocator: ${i.allocator}`,
    `oneDNN: ${
      i.onednn.enabled ? `on${i.onednn.isa ? `, up to ${i.onednn.isa}` : ""}` : "off"
    } (${i.onednn.reason})`,
    ...i.warnings.map((w) => `warning: ${w}`),
  ].join("\n");
}

/** Live tensors held by libtensorflow (native) or tfjs (pure JS): for leak checks. */
export function nativeTensorCount(): number {
  const b = nativeBackend();
  return b ? b.binding.getNumOfTensors() : tf.memory().numTensors;
}
