/**
 * oneDNN where it runs: whether the native CPU engine turns on TensorFlow's
 * oneDNN kernels (`TF_ENABLE_ONEDNN_OPTS=1`), and up to which instruction set
 * (`ONEDNN_MAX_CPU_ISA`).
 *
 * Why a probe: on some CPUs a ResNet50 training step with oneDNN on dies with
 * SIGFPE inside libtensorflow (seen on an AMD EPYC VM that reports no cache
 * sizes: at AVX512_CORE and AVX2; it ran at SSE41, but 2x slower than without
 * oneDNN). Elsewhere oneDNN is TensorFlow's default and may be faster. So,
 * once per machine (CPU model + flags + the libtensorflow in use), the engine
 * runs a small training step of ResNet50's distinct layers in child processes:
 * with oneDNN at each instruction set the CPU has, highest first, until one
 * survives; then without oneDNN, and both once more (ABBA). oneDNN is turned
 * on at that instruction set when its best step was also at least 5% faster
 * (a slower oneDNN helps nobody; a tie keeps the engine's own kernels), and the
 * outcome is cached (`.cache/engine/onednn-<key>.json`, written atomically).
 * TensorFlow reads both variables once, when the addon loads libtensorflow, so
 * all this happens before the addon is imported (lib/engine/engine.ts).
 *
 * `ACMC_ONEDNN` overrides: `auto` (default: the above), `0`/`off`, `1`/`on`
 * (the highest surviving instruction set even when slower), an instruction
 * set name (forced, not probed: e.g. `SSE41`), `reprobe` (probe again, then
 * `auto`).
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../io/mod.ts";

/**
 * oneDNN's instruction sets the probe tries, highest first, with the
 * `/proc/cpuinfo` flags each needs (oneDNN's `dnnl_cpu_isa_t` names, as
 * `ONEDNN_MAX_CPU_ISA` takes them). AMX adds nothing to float32 training but
 * is oneDNN's default ceiling on CPUs that have it.
 */
export const ONEDNN_ISAS = [
  {
    isa: "AVX512_CORE_AMX",
    flags: ["amx_tile", "amx_bf16", "avx512_bf16", "avx512f", "avx512bw", "avx512vl", "avx512dq"],
  },
  {
    isa: "AVX512_CORE_BF16",
    flags: ["avx512_bf16", "avx512f", "avx512bw", "avx512vl", "avx512dq"],
  },
  { isa: "AVX512_CORE", flags: ["avx512f", "avx512bw", "avx512vl", "avx512dq"] },
  { isa: "AVX2", flags: ["avx2", "fma"] },
  { isa: "SSE41", flags: ["sse4_1"] },
] as const;

/** An instruction set of {@linkcode ONEDNN_ISAS}. */
export type OneDnnIsa = typeof ONEDNN_ISAS[number]["isa"];

/** The CPU as `/proc/cpuinfo` describes its first processor. */
export interface CpuId {
  /** `model name` (x86) or implementer/part (ARM); "unknown" if absent. */
  model: string;
  /** `flags` (x86) or `Features` (ARM), sorted. */
  flags: string[];
}

/** Reads the model and flags of the first processor of a `/proc/cpuinfo` text. */
export function parseCpuInfo(text: string): CpuId {
  const first = text.split(/\n\s*\n/)[0] ?? "";
  const field = (name: string) => {
    const m = new RegExp(`^${name}\\s*:\\s*(.*)$`, "mi").exec(first);
    return m ? m[1].trim() : undefined;
  };
  const model = field("model name") ??
    ([field("CPU implementer"), field("CPU part")].filter(Boolean).join("/") || "unknown");
  const flags = (field("flags") ?? field("Features") ?? "").split(/\s+/).filter(Boolean).sort();
  return { model, flags };
}

/** The instruction sets of {@linkcode ONEDNN_ISAS} this CPU has, highest first (none off x86). */
export function candidateIsas(cpu: CpuId): OneDnnIsa[] {
  const has = new Set(cpu.flags);
  return ONEDNN_ISAS.filter((e) => e.flags.every((f) => has.has(f))).map((e) => e.isa);
}

/** Bumped when the probe's workload or its file format changes (old results are then ignored). */
export const PROBE_VERSION = 4;
/** The probe's image size (px). */
export const PROBE_PX = 96;

/** The cache key of a machine: CPU model, flags and the libtensorflow in use. */
export function probeKey(cpu: CpuId, libtensorflow: string): string {
  return createHash("sha256")
    .update(`${PROBE_VERSION}\n${cpu.model}\n${cpu.flags.join(" ")}\n${libtensorflow}`)
    .digest("hex")
    .slice(0, 16);
}

/** What `ACMC_ONEDNN` asks for. */
export type OneDnnSetting =
  | { mode: "auto" }
  | { mode: "off" }
  | { mode: "on" }
  | { mode: "reprobe" }
  | { mode: "isa"; isa: OneDnnIsa };

/** Parses `ACMC_ONEDNN` (case-insensitive); a bad value is an error naming it and the choices. */
export function parseOneDnnSetting(value: string | undefined): OneDnnSetting {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "" || v === "auto") return { mode: "auto" };
  if (v === "0" || v === "off" || v === "false") return { mode: "off" };
  if (v === "1" || v === "on" || v === "true") return { mode: "on" };
  if (v === "reprobe") return { mode: "reprobe" };
  const isa = ONEDNN_ISAS.find((e) => e.isa.toLowerCase() === v);
  if (isa) return { mode: "isa", isa: isa.isa };
  throw new Error(
    `ACMC_ONEDNN="${value}" is not a oneDNN setting: use auto, 0 (off), 1 (on), reprobe, ` +
      `or an instruction set: ${ONEDNN_ISAS.map((e) => e.isa).join(", ")}`,
  );
}

/** One child process of the probe. */
export interface ProbeTry {
  /** The instruction set tried, or null: oneDNN off. */
  isa: OneDnnIsa | null;
  /** True when the child finished its steps and reported. */
  survived: boolean;
  /** Median training-step time of the child, ms (null when it did not survive). */
  stepMs: number | null;
  /** How it ended: "ok", "killed by SIGFPE", "exit 1", "timed out", ... */
  outcome: string;
}

/** A machine's probe, as cached. */
export interface OneDnnProbe {
  version: number;
  key: string;
  cpuModel: string;
  libtensorflow: string;
  /** ISO date of the probe. */
  date: string;
  /** The children run, in order: instruction sets highest first, then oneDNN off. */
  tries: ProbeTry[];
}

/** What the engine does about oneDNN, and why. */
export interface OneDnnDecision {
  /** True when oneDNN is on (`TF_ENABLE_ONEDNN_OPTS=1`). */
  enabled: boolean;
  /** `ONEDNN_MAX_CPU_ISA` when enabled with a cap, else null. */
  isa: OneDnnIsa | null;
  /** The highest instruction set that survived the probe (null: none, or not probed). */
  survived: OneDnnIsa | null;
  /** Why, in words (for `describeEngine()`). */
  reason: string;
  /** The probe behind the decision (null when none was used). */
  probe: OneDnnProbe | null;
}

/**
 * A probe's outcome: the highest instruction set that survived and its best
 * (lowest) step time over its runs, the same for oneDNN off, and the
 * instruction sets that died.
 */
function probeOutcome(probe: OneDnnProbe): { on?: ProbeTry; off?: ProbeTry; died: ProbeTry[] } {
  const best = (ts: ProbeTry[]): ProbeTry | undefined =>
    ts.length ? { ...ts[0], stepMs: Math.min(...ts.map((t) => t.stepMs ?? Infinity)) } : undefined;
  const first = probe.tries.find((t) => t.isa !== null && t.survived);
  const on = best(probe.tries.filter((t) => first && t.isa === first.isa && t.survived));
  const off = best(probe.tries.filter((t) => t.isa === null && t.survived));
  const died = probe.tries.filter((t) => t.isa !== null && !t.survived);
  return { on, off, died };
}

/**
 * The decision for a setting and a probe (pure; the probe is null when the
 * setting needs none or none could run).
 */
export function decideOneDnn(setting: OneDnnSetting, probe: OneDnnProbe | null): OneDnnDecision {
  if (setting.mode === "off") {
    return { enabled: false, isa: null, survived: null, reason: "ACMC_ONEDNN=0", probe: null };
  }
  if (setting.mode === "isa") {
    return {
      enabled: true,
      isa: setting.isa,
      survived: null,
      reason: `ACMC_ONEDNN=${setting.isa} (forced, not probed)`,
      probe: null,
    };
  }
  if (!probe) {
    return { enabled: false, isa: null, survived: null, reason: "not probed", probe: null };
  }
  const { on, off, died } = probeOutcome(probe);
  if (!off) {
    return {
      enabled: false,
      isa: null,
      survived: null,
      reason: "the probe's training step failed without oneDNN too " +
        `(${probe.tries.filter((t) => t.isa === null).map((t) => t.outcome).join(", ")}): ` +
        "the engine itself does not run",
      probe,
    };
  }
  const deaths = died.length
    ? `; died at ${died.map((t) => `${t.isa} (${t.outcome})`).join(", ")}`
    : "";
  if (!on) {
    return {
      enabled: false,
      isa: null,
      survived: null,
      reason: `no instruction set survived the probe${deaths || " (none to try on this CPU)"}`,
      probe,
    };
  }
  const ms = (t?: ProbeTry) => (t?.stepMs == null ? "?" : `${t.stepMs.toFixed(0)} ms`);
  const timing = `probe step ${ms(on)} with oneDNN, ${ms(off)} without (best of each)`;
  if (setting.mode === "on") {
    return {
      enabled: true,
      isa: on.isa,
      survived: on.isa,
      reason: `ACMC_ONEDNN=1: ${on.isa} survived the probe (${timing})${deaths}`,
      probe,
    };
  }
  const faster = on.stepMs !== null && off.stepMs !== null &&
    on.stepMs < FASTER * off.stepMs;
  return {
    enabled: faster,
    isa: faster ? on.isa : null,
    survived: on.isa,
    reason: `${on.isa} survived the probe${deaths}; ${timing}: ` +
      (faster ? "faster, so on" : "not 5% faster, so off (ACMC_ONEDNN=1 forces it)"),
    probe,
  };
}

let inUse = false;

/** True when the engine loaded libtensorflow with oneDNN on (set by `initEngine`). */
export function oneDnnInUse(): boolean {
  return inUse;
}

/** Records whether libtensorflow was loaded with oneDNN on (`initEngine` only). */
export function setOneDnnInUse(on: boolean): void {
  inUse = on;
}

/**
 * oneDNN must be this much faster (step time ratio) to be turned on: within
 * the noise of a shared machine the engine keeps its own measured kernels.
 */
const FASTER = 0.95;

/** The child's report line on stdout. */
export const REPORT = "acmc-onednn-probe";

/** Reads a probe child's report (its median step, ms) from its stdout; null if absent. */
export function parseProbeReport(stdout: string): number | null {
  for (const line of stdout.split("\n").reverse()) {
    if (!line.startsWith("{")) continue;
    try {
      const r = JSON.parse(line);
      if (r[REPORT] === PROBE_VERSION && typeof r.stepMs === "number" && r.stepMs > 0) {
        return r.stepMs;
      }
    } catch { /* not the report */ }
  }
  return null;
}

/** How a probe child ended. */
export interface ChildResult {
  code: number;
  signal: string | null;
  stdout: string;
  timedOut: boolean;
}

/** Turns a child's end into a {@linkcode ProbeTry}. */
export function probeTry(isa: OneDnnIsa | null, r: ChildResult): ProbeTry {
  const stepMs = r.code === 0 ? parseProbeReport(r.stdout) : null;
  const outcome = r.timedOut
    ? "timed out"
    : r.signal
    ? `killed by ${r.signal}`
    : r.code !== 0
    ? `exit ${r.code}`
    : stepMs === null
    ? "no report"
    : "ok";
  return { isa, survived: outcome === "ok", stepMs, outcome };
}

/**
 * Runs the probe's children through `run` (null = oneDNN off): the candidate
 * instruction sets highest first until one survives, then oneDNN off; when
 * one survived, off and that one once more (ABBA order, so that a change in
 * the machine's load hits both alike). Stops early when the oneDNN-off child
 * fails (then the engine itself is broken: nothing to compare).
 */
export async function runProbe(
  candidates: OneDnnIsa[],
  run: (isa: OneDnnIsa | null) => Promise<ChildResult>,
): Promise<ProbeTry[]> {
  const tries: ProbeTry[] = [];
  let survivor: OneDnnIsa | null = null;
  for (const isa of candidates) {
    const t = probeTry(isa, await run(isa));
    tries.push(t);
    if (t.survived) {
      survivor = isa;
      break;
    }
  }
  const off = probeTry(null, await run(null));
  tries.push(off);
  if (survivor && off.survived) {
    tries.push(probeTry(null, await run(null)));
    tries.push(probeTry(survivor, await run(survivor)));
  }
  return tries;
}

/** True when a probe can be cached: its oneDNN-off child ran (else the failure was not oneDNN's). */
export function probeIsSound(probe: OneDnnProbe): boolean {
  return probe.tries.some((t) => t.isa === null && t.survived);
}

/** Reads a cached probe; null when absent, unreadable, or for another key or version. */
export function readProbe(file: string, key: string): OneDnnProbe | null {
  try {
    const p = JSON.parse(readFileSync(file, "utf8")) as OneDnnProbe;
    return p.version === PROBE_VERSION && p.key === key && Array.isArray(p.tries) ? p : null;
  } catch {
    return null;
  }
}

/** Writes a probe atomically (lib/io's `writeFileAtomic`). */
export async function writeProbe(file: string, probe: OneDnnProbe): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(probe, null, 2) + "\n");
}

/** Options of {@linkcode resolveOneDnn} (all but `libtensorflow` have defaults). */
export interface ResolveOptions {
  /** Identifies the libtensorflow in use (version, file): part of the cache key. */
  libtensorflow: string;
  /** `ACMC_ONEDNN`'s value. Default: the environment's. */
  setting?: string;
  /** Folder of the cached probes. Default `.cache/engine` in the project. */
  cacheDir?: string;
  /** The `/proc/cpuinfo` text. Default: read it (empty off Linux). */
  cpuinfo?: string;
  /** Runs one probe child. Default: {@linkcode runProbeChild}. */
  run?: (isa: OneDnnIsa | null) => Promise<ChildResult>;
  /** A lock older than this is taken over (ms). Default 10 minutes. */
  staleLockMs?: number;
  /** Called once before a probe starts (e.g. to say why the first start is slow). */
  onProbe?: (candidates: OneDnnIsa[]) => void;
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The oneDNN decision for this machine: from `ACMC_ONEDNN`, the cached probe,
 * or a new probe (then cached). While another process probes (its lock file
 * exists), this one runs with oneDNN off rather than wait.
 */
export async function resolveOneDnn(o: ResolveOptions): Promise<OneDnnDecision> {
  const setting = parseOneDnnSetting(o.setting ?? Deno.env.get("ACMC_ONEDNN"));
  if (setting.mode === "off" || setting.mode === "isa") return decideOneDnn(setting, null);
  let cpuinfo = o.cpuinfo;
  if (cpuinfo === undefined) {
    try {
      cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
    } catch {
      cpuinfo = "";
    }
  }
  const cpu = parseCpuInfo(cpuinfo);
  const key = probeKey(cpu, o.libtensorflow);
  const dir = o.cacheDir ?? join(ROOT, ".cache", "engine");
  const file = join(dir, `onednn-${key}.json`);
  let probe = setting.mode === "reprobe" ? null : readProbe(file, key);
  if (!probe) {
    Deno.mkdirSync(dir, { recursive: true });
    const lock = `${file}.lock`;
    if (!takeLock(lock, o.staleLockMs ?? 600_000)) {
      return {
        enabled: false,
        isa: null,
        survived: null,
        reason: `another process is probing oneDNN on this machine (${lock}); off in this one`,
        probe: null,
      };
    }
    try {
      o.onProbe?.(candidateIsas(cpu));
      const tries = await runProbe(candidateIsas(cpu), o.run ?? runProbeChild);
      probe = {
        version: PROBE_VERSION,
        key,
        cpuModel: cpu.model,
        libtensorflow: o.libtensorflow,
        date: new Date().toISOString(),
        tries,
      };
      if (probeIsSound(probe)) await writeProbe(file, probe);
    } finally {
      try {
        Deno.removeSync(lock);
      } catch { /* already gone */ }
    }
  }
  return decideOneDnn(setting.mode === "on" ? setting : { mode: "auto" }, probe);
}

/** Creates `lock` (exclusively); takes over one older than `staleMs`. False when held. */
function takeLock(lock: string, staleMs: number): boolean {
  for (let i = 0; i < 2; i++) {
    try {
      Deno.writeTextFileSync(lock, `${Deno.pid} ${new Date().toISOString()}\n`, {
        createNew: true,
      });
      return true;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      let age = 0;
      try {
        age = Date.now() - (Deno.statSync(lock).mtime?.getTime() ?? Date.now());
      } catch {
        continue; // removed meanwhile: try again
      }
      if (age < staleMs) return false;
      try {
        Deno.removeSync(lock);
      } catch { /* someone else took it over */ }
    }
  }
  return false;
}

/** Environment of a probe child: oneDNN at `isa` (or off), no probe of its own. */
export function probeChildEnv(isa: OneDnnIsa | null): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.ONEDNN_MAX_CPU_ISA;
  return { ...env, ACMC_ONEDNN: isa ?? "0", TF_CPP_MIN_LOG_LEVEL: "3" };
}

/**
 * Runs `probeStep` (onednn_probe.ts) in a child Deno process with oneDNN at
 * `isa` (or off), with a 3-minute limit. The child imports the probe by its
 * URL: the probe needs the whole engine, which imports this module.
 */
export async function runProbeChild(isa: OneDnnIsa | null): Promise<ChildResult> {
  const here = new URL("./onednn_probe.ts", import.meta.url).href;
  const config = join(ROOT, "deno.json");
  const code = `const m = await import(${JSON.stringify(here)}); await m.probeStep();`;
  const signal = AbortSignal.timeout(180_000);
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", ...(existsSync(config) ? ["--config", config] : []), code],
      cwd: ROOT,
      env: probeChildEnv(isa),
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      signal,
    }).output();
    return {
      code: out.code,
      signal: out.signal,
      stdout: new TextDecoder().decode(out.stdout),
      timedOut: signal.aborted,
    };
  } catch (e) {
    if (signal.aborted) return { code: -1, signal: null, stdout: "", timedOut: true };
    throw e;
  }
}
