/**
 * The "a kill during a save leaves the previous file loadable" harness shared
 * by the checkpoint tests: a child process fills a 500 -> 4000 dense model
 * with version v (every weight = v) and saves it over and over, printing
 * "saved v"; each round, once a few versions exist, the child is killed
 * (SIGKILL) while a save is under way, and the file must load whole: one
 * version throughout, the last reported one or the one after it.
 */
import assert from "node:assert/strict";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { tf } from "../lib/engine/mod.ts";
import { ROOT } from "./_python.ts";
import { weightValues } from "./_train_data.ts";

/** What differs between the savers under test. */
export interface KillDuringSaveOptions {
  /** Import lines the child needs for `save` (URLs: `new URL("../lib/…", import.meta.url)`). */
  imports: string;
  /** The child's save statement; `model`, `v` (the version) and `path` are in scope. */
  save: string;
  /** The saved file's name inside the temporary folder's `ckpt/`, e.g. `model.ckpt`. */
  fileName: string;
  /** Loads `path` into `model`; returns the version the file records about itself, if any. */
  load: (model: tf.LayersModel, path: string) => Promise<number | undefined>;
  /** How many children to kill. */
  rounds: number;
}

function childScript(o: KillDuringSaveOptions): string {
  const engine = JSON.stringify(new URL("../lib/engine/mod.ts", import.meta.url).href);
  return `
import { tf } from ${engine};
${o.imports}
const input = tf.input({ shape: [500] });
const out = tf.layers.dense({ units: 4000, name: "big" }).apply(input);
const model = tf.model({ inputs: input, outputs: out });
const path = Deno.args[0];
for (let v = 1; ; v++) {
  const vals = model.weights.map((w) => tf.fill(w.shape, v));
  model.setWeights(vals);
  tf.dispose(vals);
  ${o.save}
  console.log("saved " + v);
}
`;
}

/** Runs the harness; throws (AssertionError) when a loaded file is torn or never was mid-write. */
export async function killDuringSave(o: KillDuringSaveOptions): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "acmc-kill-" });
  const input = tf.input({ shape: [500] });
  const out = tf.layers.dense({ units: 4000, name: "big" }).apply(input);
  const model = tf.model({ inputs: input, outputs: out as tf.SymbolicTensor });
  try {
    const script = join(dir, "child.ts");
    await Deno.writeTextFile(script, childScript(o));
    const path = join(dir, "ckpt", o.fileName);
    const tmpPrefix = `.${basename(path)}.tmp-`;
    let midWrite = 0;
    for (let round = 0; round < o.rounds; round++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--config", join(ROOT, "deno.json"), script, path],
        cwd: fileURLToPath(new URL("..", import.meta.url)),
        stdout: "piped",
        stderr: "null",
      }).spawn();
      let lastSaved = 0;
      const reader = (async () => {
        const dec = new TextDecoder();
        for await (const chunk of child.stdout) {
          for (const m of dec.decode(chunk).matchAll(/saved (\d+)/g)) lastSaved = Number(m[1]);
        }
      })();
      // wait until a few versions exist, then kill as soon as a save is under way: a
      // temporary file being written, or (were saves not atomic) a file shorter than whole
      const deadline = Date.now() + 120_000;
      let killed = false;
      let fullSize = 0;
      while (!killed && Date.now() < deadline) {
        if (lastSaved >= 2 + round) {
          fullSize ||= (await Deno.stat(path)).size;
          let writing = await Deno.stat(path).then((s) => s.size < fullSize, () => true);
          for await (const e of Deno.readDir(dirname(path))) {
            if (e.name.startsWith(tmpPrefix)) {
              writing ||= await Deno.stat(join(dirname(path), e.name)).then(
                (s) => s.size > 0,
                () => false,
              );
            }
          }
          if (writing) {
            child.kill("SIGKILL");
            killed = true;
            midWrite++;
          }
        }
        if (!killed) await new Promise((r) => setTimeout(r, 1));
      }
      if (!killed) child.kill("SIGKILL");
      await child.status;
      await reader;
      assert(killed, "the child never reached a save in time");
      const recorded = await o.load(model, path);
      const [kernel, bias] = await weightValues(model);
      const v = kernel[0];
      assert(
        v === lastSaved || v === lastSaved + 1,
        `loaded version ${v}, last reported ${lastSaved}`,
      );
      assert(kernel.every((x) => x === v) && bias.every((x) => x === v), `version ${v} is mixed`);
      if (recorded !== undefined) assert.equal(recorded, v, `the file says version ${recorded}`);
    }
    assert(midWrite >= 1, "no kill landed while a temporary file was being written");
  } finally {
    model.dispose();
    await Deno.remove(dir, { recursive: true });
  }
}
