/**
 * lib/engine/cold_pages.ts: unmapping clean library pages changes no result,
 * and the engine's memory settings (cold pages, oneDNN on the process's
 * allocator) leave a fixed-seed training run's losses bit-identical.
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { engineInfo, initEngine, releaseColdPages, tf } from "../lib/engine/mod.ts";
import { ROOT } from "./_python.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function rssFileKb(): number {
  return Number(/RssFile:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"))?.[1]);
}

Deno.test(
  "releaseColdPages unmaps clean file pages; the engine computes the same afterwards",
  opts,
  async () => {
    await initEngine({ quiet: true });
    const step = () =>
      tf.tidy(() => {
        const x = tf.randomUniform([2, 16, 16, 3], 0, 1, "float32", 3);
        const w = tf.randomNormal([3, 3, 3, 8], 0, 0.1, "float32", 4);
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same").relu().sum()
        );
        return g([x, w]).map((t) => Array.from(t.dataSync()));
      });
    const before = step();
    const kb = rssFileKb();
    const released = releaseColdPages();
    if (Deno.build.os !== "linux") return assertEquals(released, { mappings: 0, bytes: 0 });
    assert(released.mappings > 0 && released.bytes > 0, JSON.stringify(released));
    assert(rssFileKb() < kb, `file-backed RSS ${kb} kB -> ${rssFileKb()} kB`);
    assertEquals(step(), before);
  },
);

Deno.test(
  "a fixed-seed ResNet50 run's losses are the same with the engine's memory settings off",
  opts,
  async () => {
    await initEngine({ quiet: true });
    if (engineInfo().backend !== "tensorflow") return;
    const script = await Deno.makeTempFile({ suffix: ".ts" });
    await Deno.writeTextFile(
      script,
      `import { adam, initEngine, tf } from "${ROOT}lib/engine/mod.ts";
import { resnet50 } from "${ROOT}lib/models/mod.ts";
await initEngine({ quiet: true });
const model = resnet50({ inputShape: [32, 32, 3], classes: 3, seed: 5 });
model.compile({ optimizer: adam(1e-3), loss: "categoricalCrossentropy" });
const x = tf.randomUniform([2, 32, 32, 3], 0, 255, "float32", 6);
const y = tf.oneHot(tf.tensor1d([0, 2], "int32"), 3).toFloat();
const losses = [];
for (let i = 0; i < 3; i++) losses.push(await model.trainOnBatch(x, y));
console.log(JSON.stringify({ losses, env: Deno.env.get("TF_ONEDNN_USE_SYSTEM_ALLOCATOR") ?? null }));`,
    );
    const run = async (env: Record<string, string>) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--config", `${ROOT}deno.json`, "-A", script],
        cwd: ROOT,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const td = new TextDecoder();
      assert(out.success, td.decode(out.stderr));
      return JSON.parse(td.decode(out.stdout).trim().split("\n").pop()!);
    };
    // Both children with this process's oneDNN choice, pinned (other test
    // files of this process may change ACMC_ONEDNN meanwhile).
    const dnn = engineInfo().onednn;
    const pin = { ACMC_ONEDNN: dnn.enabled ? dnn.isa ?? "1" : "0" };
    try {
      const on = await run({ ...pin, ACMC_COLD_PAGES: "1" });
      const off = await run({
        ...pin,
        ACMC_COLD_PAGES: "0",
        TF_ONEDNN_USE_SYSTEM_ALLOCATOR: "false",
      });
      assertEquals(on.env, engineInfo().onednn.enabled ? "true" : null);
      assertEquals(off.env, "false");
      assert(on.losses.every(Number.isFinite), JSON.stringify(on.losses));
      assertEquals(on.losses, off.losses);
    } finally {
      await Deno.remove(script);
    }
  },
);
