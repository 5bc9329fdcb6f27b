/**
 * The tfjs layers-format export: `saveTfjsModel` writes `model.json` + 4 MiB
 * shards that `tf.loadLayersModel("file://...")` reopens here with the same
 * predictions, and that plain `@tensorflow/tfjs` (a separate process that
 * imports nothing of lib/, only the `preprocess_input.js` written beside the
 * model) loads and predicts with the same outputs.
 */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initEngine, tf } from "../lib/engine/mod.ts";
import { resnet50, saveTfjsModel, TFJS_SHARD_BYTES } from "../lib/models/mod.ts";
import { seededRandom } from "../lib/random/mod.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SIZE = 32;

/** Non-trivial batch-norm weights and statistics (so a lost moving statistic shows). */
function randomizeBatchNorm(model: tf.LayersModel, seed: number): void {
  const rand = seededRandom(seed);
  const u = (n: number, lo: number, hi: number) =>
    tf.tensor1d(Array.from({ length: n }, () => lo + (hi - lo) * rand()));
  for (const layer of model.layers) {
    if (layer.getClassName() !== "KerasBatchNormalization") continue;
    const c = layer.weights[0].shape[0]!;
    const w = [u(c, 0.5, 1.5), u(c, -0.2, 0.2), u(c, -0.5, 0.5), u(c, 1, 4)];
    layer.setWeights(w);
    tf.dispose(w);
  }
}

function maxRelDiff(a: number[][], b: number[][]): number {
  const scale = Math.max(1e-6, ...b.flat().map(Math.abs));
  return Math.max(...a.flat().map((v, i) => Math.abs(v - b.flat()[i]))) / scale;
}

const CHILD = `
import * as tf from "@tensorflow/tfjs";
const [dir, inputFile] = Deno.args;
const { registerPreprocessInput } = await import("file://" + dir + "/preprocess_input.js");
registerPreprocessInput(tf);
await tf.setBackend("cpu");
const json = JSON.parse(await Deno.readTextFile(dir + "/model.json"));
const model = await tf.loadLayersModel({
  load: () => tf.io.getModelArtifactsForJSON(json, async (manifest) => {
    const specs = manifest.flatMap((g) => g.weights);
    const bufs = [];
    for (const g of manifest) for (const p of g.paths) bufs.push((await Deno.readFile(dir + "/" + p)).buffer);
    return [specs, bufs];
  }),
});
const { x, shape } = JSON.parse(await Deno.readTextFile(inputFile));
const y = model.predict(tf.tensor4d(x, shape));
console.log(JSON.stringify({ y: await y.array(), classes: model.layers.map((l) => l.getClassName()) }));
`;

Deno.test("models: saveTfjsModel's export reopens with tf.loadLayersModel, here and in plain tfjs", async (t) => {
  await initEngine({ quiet: true });
  const dir = await Deno.makeTempDir({ prefix: "acmc-tfjs-" });
  try {
    const model = resnet50({ inputShape: [SIZE, SIZE, 3], classes: 4, preprocess: true, seed: 3 });
    randomizeBatchNorm(model, 4);
    const rand = seededRandom(5);
    const xs = Array.from({ length: 2 * SIZE * SIZE * 3 }, () => Math.floor(rand() * 256));
    const x = tf.tensor4d(xs, [2, SIZE, SIZE, 3]);
    const want = await (model.predict(x) as tf.Tensor).array() as number[][];
    const top = Math.min(...want.map((r) => Math.max(...r)));
    assert(top < 0.9999, `softmax saturated (${top}): the comparison would hide errors`);

    const out = join(dir, "export", "resnet50-tfjs");
    await saveTfjsModel(model, out); // a first export, then replaced
    const r = await saveTfjsModel(model, out);
    const files = [...Deno.readDirSync(out)].map((e) => e.name).sort();
    assertEquals(files, ["model.json", "preprocess_input.js", ...r.shards].sort());
    assertEquals(r.shards.length, Math.ceil(r.weightBytes / TFJS_SHARD_BYTES));
    assertEquals([...Deno.readDirSync(join(dir, "export"))].map((e) => e.name), ["resnet50-tfjs"]);
    const json = await Deno.readTextFile(r.modelJson);
    assert(
      !json.includes("KerasBatchNormalization"),
      "our batch-norm class leaked into model.json",
    );
    const shardSizes = r.shards.map((s) => Deno.statSync(join(out, s)).size);
    assert(shardSizes.every((s) => s <= TFJS_SHARD_BYTES));
    assertEquals(shardSizes.reduce((a, b) => a + b, 0), r.weightBytes);

    await t.step("tf.loadLayersModel('file://...') in this process", async () => {
      const again = await tf.loadLayersModel(`file://${r.modelJson}`);
      const got = await (again.predict(x) as tf.Tensor).array() as number[][];
      const d = maxRelDiff(got, want);
      console.log(`  reloaded here: max |softmax diff| ${d.toExponential(2)}`);
      assert(d < 1e-6, `reloaded predictions differ by ${d}`);
      assertEquals(again.layers.length, model.layers.length);
      again.dispose();
    });

    await t.step(
      "plain @tensorflow/tfjs (CPU backend, no lib/) with preprocess_input.js",
      async () => {
        const script = join(dir, "child.ts");
        await Deno.writeTextFile(script, CHILD);
        const input = join(dir, "input.json");
        await Deno.writeTextFile(input, JSON.stringify({ x: xs, shape: [2, SIZE, SIZE, 3] }));
        const res = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "--config", join(ROOT, "deno.json"), script, out, input],
          cwd: ROOT,
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert(res.success, new TextDecoder().decode(res.stderr));
        const o = JSON.parse(new TextDecoder().decode(res.stdout).trim().split("\n").pop()!);
        const d = maxRelDiff(o.y, want);
        console.log(`  plain tfjs (cpu): max |softmax diff| ${d.toExponential(2)}`);
        assert(d < 1e-4, `plain tfjs predictions differ by ${d}`);
        assert(
          o.classes.includes("ResNetPreprocessInput") && o.classes.includes("BatchNormalization"),
        );
      },
    );
    x.dispose();
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
