/**
 * lib/engine/onednn.ts: the per-machine oneDNN probe's logic (CPU parsing,
 * instruction-set ladder, override, decision, cache, lock) with simulated
 * child processes, so that nothing here depends on this machine's CPU.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "./_python.ts";
import {
  candidateIsas,
  type ChildResult,
  decideOneDnn,
  type OneDnnIsa,
  type OneDnnProbe,
  parseCpuInfo,
  parseOneDnnSetting,
  parseProbeReport,
  PROBE_VERSION,
  probeChildEnv,
  probeKey,
  probeTry,
  readProbe,
  resolveOneDnn,
  runProbe,
} from "../lib/engine/onednn.ts";

const SPR = `processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu sse sse2 sse4_1 sse4_2 avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16 amx_bf16 amx_tile amx_int8

processor\t: 1
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu
`;
const EPYC = `processor\t: 0
model name\t: AMD EPYC 9R45
flags\t\t: sse4_1 sse4_2 avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16
`;
const OLD = "processor\t: 0\nmodel name\t: Old\nflags\t\t: sse sse2 sse4_1 avx\n";
const ARM =
  "processor\t: 0\nFeatures\t: fp asimd sve\nCPU implementer\t: 0x41\nCPU part\t: 0xd40\n";

/** A child that reports `ms` per step. */
const ok = (ms: number): ChildResult => ({
  code: 0,
  signal: null,
  stdout: `log line\n${JSON.stringify({ "acmc-onednn-probe": PROBE_VERSION, stepMs: ms })}\n`,
  timedOut: false,
});
const sigfpe: ChildResult = { code: 136, signal: "SIGFPE", stdout: "", timedOut: false };
const exit1: ChildResult = { code: 1, signal: null, stdout: "", timedOut: false };

/** A simulated machine: which ISAs die, step times; records the children run. */
function machine(dies: OneDnnIsa[], onMs: number, offMs: number) {
  const calls: (OneDnnIsa | null)[] = [];
  const run = (isa: OneDnnIsa | null) => {
    calls.push(isa);
    return Promise.resolve(isa === null ? ok(offMs) : dies.includes(isa) ? sigfpe : ok(onMs));
  };
  return { calls, run };
}

Deno.test("onednn: CPU model and flags from /proc/cpuinfo (first processor; ARM too)", () => {
  const cpu = parseCpuInfo(SPR);
  assert.equal(cpu.model, "Intel(R) Xeon(R) Processor");
  assert.ok(cpu.flags.includes("amx_tile") && cpu.flags.includes("avx512_bf16"));
  assert.deepEqual(cpu.flags, [...cpu.flags].sort());
  assert.deepEqual(parseCpuInfo(ARM), { model: "0x41/0xd40", flags: ["asimd", "fp", "sve"] });
  assert.deepEqual(parseCpuInfo(""), { model: "unknown", flags: [] });
});

Deno.test("onednn: the instruction sets to try are those the CPU has, highest first", () => {
  assert.deepEqual(candidateIsas(parseCpuInfo(SPR)), [
    "AVX512_CORE_AMX",
    "AVX512_CORE_BF16",
    "AVX512_CORE",
    "AVX2",
    "SSE41",
  ]);
  assert.deepEqual(candidateIsas(parseCpuInfo(EPYC)), [
    "AVX512_CORE_BF16",
    "AVX512_CORE",
    "AVX2",
    "SSE41",
  ]);
  assert.deepEqual(candidateIsas(parseCpuInfo(OLD)), ["SSE41"]);
  assert.deepEqual(candidateIsas(parseCpuInfo(ARM)), []);
});

Deno.test("onednn: the cache key changes with the CPU's flags and with libtensorflow", () => {
  const a = probeKey(parseCpuInfo(SPR), "tf 2.21.0");
  assert.match(a, /^[0-9a-f]{16}$/);
  assert.equal(a, probeKey(parseCpuInfo(SPR), "tf 2.21.0"));
  assert.notEqual(a, probeKey(parseCpuInfo(SPR), "tf 2.22.0"));
  assert.notEqual(a, probeKey(parseCpuInfo(EPYC), "tf 2.21.0"));
});

Deno.test("onednn: ACMC_ONEDNN values, and a bad one named with the choices", () => {
  assert.deepEqual(parseOneDnnSetting(undefined), { mode: "auto" });
  assert.deepEqual(parseOneDnnSetting(" Auto "), { mode: "auto" });
  assert.deepEqual(parseOneDnnSetting("0"), { mode: "off" });
  assert.deepEqual(parseOneDnnSetting("off"), { mode: "off" });
  assert.deepEqual(parseOneDnnSetting("1"), { mode: "on" });
  assert.deepEqual(parseOneDnnSetting("reprobe"), { mode: "reprobe" });
  assert.deepEqual(parseOneDnnSetting("sse41"), { mode: "isa", isa: "SSE41" });
  assert.deepEqual(parseOneDnnSetting("AVX512_CORE_AMX"), { mode: "isa", isa: "AVX512_CORE_AMX" });
  assert.throws(() => parseOneDnnSetting("AVX9"), /ACMC_ONEDNN="AVX9".*AVX512_CORE_BF16/);
});

Deno.test("onednn: a child's report, crash, exit or silence becomes its outcome", () => {
  assert.equal(parseProbeReport(ok(12.5).stdout), 12.5);
  assert.equal(parseProbeReport('{"other": 1}\nnot json {'), null);
  assert.deepEqual(probeTry("AVX2", ok(10)), {
    isa: "AVX2",
    survived: true,
    stepMs: 10,
    outcome: "ok",
  });
  assert.equal(probeTry("AVX2", sigfpe).outcome, "killed by SIGFPE");
  assert.equal(probeTry("AVX2", exit1).outcome, "exit 1");
  assert.equal(probeTry(null, { ...exit1, code: 0 }).outcome, "no report");
  assert.equal(
    probeTry("SSE41", { code: -1, signal: null, stdout: "", timedOut: true }).outcome,
    "timed out",
  );
  assert.equal(probeTry("SSE41", sigfpe).survived, false);
});

Deno.test("onednn: the probe walks down to the first survivor, then times off and on in ABBA", async () => {
  const m = machine(["AVX512_CORE_BF16", "AVX512_CORE", "AVX2"], 20, 10);
  const tries = await runProbe(candidateIsas(parseCpuInfo(EPYC)), m.run);
  assert.deepEqual(m.calls, [
    "AVX512_CORE_BF16",
    "AVX512_CORE",
    "AVX2",
    "SSE41",
    null,
    null,
    "SSE41",
  ]);
  assert.deepEqual(tries.map((t) => t.survived), [false, false, false, true, true, true, true]);
  // Nothing survives: oneDNN off is still run once (to tell a broken engine from oneDNN).
  const dead = machine(["SSE41"], 1, 10);
  await runProbe(["SSE41"], dead.run);
  assert.deepEqual(dead.calls, ["SSE41", null]);
});

function probeOf(tries: OneDnnProbe["tries"]): OneDnnProbe {
  return { version: 3, key: "k", cpuModel: "cpu", libtensorflow: "tf", date: "d", tries };
}

Deno.test("onednn: on at the highest survivor only when its step is faster (best of each)", () => {
  const t = (isa: OneDnnIsa | null, ms: number | null) => ({
    isa,
    survived: ms !== null,
    stepMs: ms,
    outcome: ms === null ? "killed by SIGFPE" : "ok",
  });
  // The EPYC case: SSE41 survives but is 2x slower.
  const slow = probeOf([
    t("AVX2", null),
    t("SSE41", 200),
    t(null, 100),
    t(null, 110),
    t("SSE41", 190),
  ]);
  const d1 = decideOneDnn({ mode: "auto" }, slow);
  assert.equal(d1.enabled, false);
  assert.equal(d1.survived, "SSE41");
  assert.match(d1.reason, /died at AVX2 \(killed by SIGFPE\)/);
  assert.match(d1.reason, /190 ms with oneDNN, 100 ms without.*not 5% faster, so off/);
  // ACMC_ONEDNN=1 takes the survivor anyway.
  assert.deepEqual(
    [decideOneDnn({ mode: "on" }, slow).enabled, decideOneDnn({ mode: "on" }, slow).isa],
    [true, "SSE41"],
  );
  // Faster: on, capped at the survivor.
  const fast = probeOf([
    t("AVX512_CORE_AMX", 60),
    t(null, 100),
    t(null, 90),
    t("AVX512_CORE_AMX", 70),
  ]);
  const d2 = decideOneDnn({ mode: "auto" }, fast);
  assert.deepEqual([d2.enabled, d2.isa], [true, "AVX512_CORE_AMX"]);
  assert.match(d2.reason, /60 ms with oneDNN, 90 ms without.*faster, so on/);
  // Within 5%: the engine's own kernels stay.
  const close = probeOf([t("AVX2", 97), t(null, 100), t(null, 100), t("AVX2", 98)]);
  assert.equal(decideOneDnn({ mode: "auto" }, close).enabled, false);
  // None survived.
  const none = decideOneDnn({ mode: "auto" }, probeOf([t("SSE41", null), t(null, 100)]));
  assert.deepEqual([none.enabled, none.survived], [false, null]);
  assert.match(none.reason, /no instruction set survived/);
  // Overrides need no probe.
  assert.equal(decideOneDnn({ mode: "off" }, fast).enabled, false);
  const forced = decideOneDnn({ mode: "isa", isa: "AVX2" }, null);
  assert.deepEqual([forced.enabled, forced.isa], [true, "AVX2"]);
  assert.match(forced.reason, /forced, not probed/);
});

Deno.test("onednn: the probe runs once per machine (cached), again on reprobe or a new CPU", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = machine([], 50, 100);
    const said: string[][] = [];
    const opts = {
      libtensorflow: "tf 2.21",
      cacheDir: dir,
      cpuinfo: SPR,
      run: m.run,
      onProbe: (isas: string[]) => said.push(isas),
    };
    const d1 = await resolveOneDnn({ ...opts, setting: "auto" });
    assert.deepEqual([d1.enabled, d1.isa], [true, "AVX512_CORE_AMX"]);
    assert.equal(m.calls.length, 4);
    assert.deepEqual(said, [candidateIsas(parseCpuInfo(SPR))]);
    const files = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.deepEqual(files, [`onednn-${probeKey(parseCpuInfo(SPR), "tf 2.21")}.json`]);
    const cached = readProbe(join(dir, files[0]), probeKey(parseCpuInfo(SPR), "tf 2.21"));
    assert.equal(cached?.tries.length, 4);
    assert.equal(readProbe(join(dir, files[0]), "another-key"), null);
    // Cached: no child runs.
    const d2 = await resolveOneDnn({ ...opts, setting: "auto" });
    assert.deepEqual([d2.enabled, d2.reason], [true, d1.reason]);
    assert.equal(m.calls.length, 4);
    // Off and forced ISAs: no probe either.
    assert.equal((await resolveOneDnn({ ...opts, setting: "0" })).enabled, false);
    assert.equal((await resolveOneDnn({ ...opts, setting: "SSE41" })).isa, "SSE41");
    assert.equal(m.calls.length, 4);
    // reprobe runs it again; another CPU has its own entry.
    await resolveOneDnn({ ...opts, setting: "reprobe" });
    assert.equal(m.calls.length, 8);
    await resolveOneDnn({ ...opts, setting: "auto", cpuinfo: EPYC });
    assert.equal(m.calls.length, 12);
    assert.equal(said.length, 3, "one notice per probe, none when cached");
    assert.equal([...Deno.readDirSync(dir)].length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("onednn: a probe whose oneDNN-off child fails is not cached (the engine is broken)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const calls: (OneDnnIsa | null)[] = [];
    const run = (isa: OneDnnIsa | null) => (calls.push(isa), Promise.resolve(exit1));
    const d = await resolveOneDnn({ libtensorflow: "tf", cacheDir: dir, cpuinfo: OLD, run });
    assert.equal(d.enabled, false);
    assert.match(d.reason, /failed without oneDNN too \(exit 1\)/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    assert.deepEqual(calls, ["SSE41", null]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("onednn: while another process probes (fresh lock) this one runs off; a stale lock is taken over", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = machine([], 50, 100);
    const key = probeKey(parseCpuInfo(SPR), "tf");
    const lock = join(dir, `onednn-${key}.json.lock`);
    Deno.writeTextFileSync(lock, "12345\n");
    const opts = { libtensorflow: "tf", cacheDir: dir, cpuinfo: SPR, run: m.run, setting: "auto" };
    const busy = await resolveOneDnn(opts);
    assert.equal(busy.enabled, false);
    assert.match(busy.reason, /another process is probing/);
    assert.equal(m.calls.length, 0);
    const old = new Date(Date.now() - 3_600_000);
    Deno.utimeSync(lock, old, old);
    const d = await resolveOneDnn({ ...opts, staleLockMs: 60_000 });
    assert.equal(d.enabled, true);
    assert.equal(m.calls.length, 4);
    assert.throws(() => Deno.statSync(lock), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("onednn: a probe child gets its instruction set (or 0) and no inherited cap", () => {
  Deno.env.set("ONEDNN_MAX_CPU_ISA", "AVX2");
  try {
    const env = probeChildEnv("SSE41");
    assert.equal(env.ACMC_ONEDNN, "SSE41");
    assert.equal(env.ONEDNN_MAX_CPU_ISA, undefined);
    assert.equal(probeChildEnv(null).ACMC_ONEDNN, "0");
  } finally {
    Deno.env.delete("ONEDNN_MAX_CPU_ISA");
  }
});

/**
 * In a child process with `ACMC_ONEDNN=setting`: ResNet50 (seed 1, 64 px,
 * batch 8, 5 classes) on fixed random images, the first step's loss and the
 * L2 norm of each weight's gradient, then the losses of two Adam steps.
 */
async function trainChild(setting: string): Promise<{
  loss: number;
  norms: Record<string, number>;
  losses: number[];
  onednn: boolean;
}> {
  const code = `
    const { initEngine, engineInfo, adam, tf } = await import("${ROOT}lib/engine/mod.ts");
    const { resnet50 } = await import("${ROOT}lib/models/mod.ts");
    await initEngine({ quiet: true, engine: "cpu" });
    const model = resnet50({ inputShape: [64, 64, 3], classes: 5, seed: 1 });
    const x = tf.randomUniform([8, 64, 64, 3], 0, 1, "float32", 7);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2], "int32"), 5).toFloat();
    const { value, grads } = tf.variableGrads(() =>
      tf.metrics.categoricalCrossentropy(y, model.apply(x, { training: true })).mean()
    );
    const norms = {};
    for (const [k, g] of Object.entries(grads)) norms[k] = Math.sqrt(g.square().sum().dataSync()[0]);
    model.compile({ optimizer: adam(1e-5), loss: "categoricalCrossentropy" });
    const losses = [];
    for (let i = 0; i < 2; i++) losses.push(await model.trainOnBatch(x, y));
    console.log(JSON.stringify({
      loss: value.dataSync()[0], norms, losses, onednn: engineInfo().onednn.enabled,
    }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", `${ROOT}deno.json`, code],
    cwd: ROOT,
    env: { ACMC_ONEDNN: setting, TF_CPP_MIN_LOG_LEVEL: "3" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr).slice(-2000));
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

const close = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.abs(b);

Deno.test(
  "onednn: oneDNN on gives the engine's loss, gradients and first Adam step (fixed seed)",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    const off = await trainChild("0");
    assert.equal(off.onednn, false);
    // "1": the highest instruction set this machine's probe found safe, if any.
    const on = await trainChild("1");
    if (!on.onednn) return; // oneDNN dies on every instruction set here: nothing to compare
    // Other kernels, other float32 rounding: the forward loss to 1e-4, the
    // gradients' global norm to 1e-3 and each weight's (of those not ~0: the
    // biases of convolutions that feed a batch norm get none) to 2%, the
    // loss after one Adam step to 1%. (Later steps drift apart: training a
    // ResNet from scratch amplifies any rounding difference; measured 6% at
    // step 3, with the same engine run twice bit-identical.)
    assert.ok(close(on.loss, off.loss, 1e-4), `loss ${on.loss} vs ${off.loss}`);
    const names = Object.keys(off.norms);
    const global = (n: Record<string, number>) => Math.hypot(...names.map((k) => n[k]));
    assert.ok(close(global(on.norms), global(off.norms), 1e-3), "global gradient norm");
    const max = Math.max(...Object.values(off.norms));
    for (const k of names.filter((k) => off.norms[k] > 1e-3 * max)) {
      assert.ok(close(on.norms[k], off.norms[k], 0.02), `${k}: ${on.norms[k]} vs ${off.norms[k]}`);
    }
    assert.ok(close(on.losses[0], off.losses[0], 1e-4), `step 0: ${on.losses} vs ${off.losses}`);
    assert.ok(close(on.losses[1], off.losses[1], 1e-2), `step 1: ${on.losses} vs ${off.losses}`);
  },
);
