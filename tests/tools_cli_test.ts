/**
 * tools/cli.ts: every `deno task` entry point answers a bad option or value
 * with one line naming it, the usage, and exit status 2 (no stack trace).
 */
import assert from "node:assert/strict";
import { ROOT } from "./_python.ts";

async function tool(name: string, ...args: string[]) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `tools/${name}.ts`, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, err: new TextDecoder().decode(r.stderr) };
}

for (const name of ["synth", "bench", "lab", "notebooks", "study", "test"]) {
  Deno.test(`tools/${name}.ts: an unknown option is named, with the usage, exit 2`, async () => {
    const { code, err } = await tool(name, "--no-such-flag");
    assert.equal(code, 2, err);
    assert.match(err, new RegExp(`^${name}: Unknown option '--no-such-flag'`));
    assert.match(err, new RegExp(`\\nusage: deno task ${name} `));
    assert.doesNotMatch(err, /\n\s+at /, "no stack trace");
  });
}

Deno.test("tools: a bad value is named (synth --scale, study --timeout, bench --steps)", async () => {
  for (
    const [name, args, want] of [
      ["synth", ["--scale", "abc"], /^synth: --scale must be a number, got "abc"/],
      ["study", ["--timeout", "0"], /^study: --timeout 0: expected seconds > 0/],
      ["bench", ["--steps", "x"], /^bench: --steps x: expected an integer >= 1/],
    ] as const
  ) {
    const { code, err } = await tool(name, ...args);
    assert.equal(code, 2, err);
    assert.match(err, want);
  }
});

Deno.test("tools/budget/calibrate.ts: a bad option or size is named, exit 2", async () => {
  const unknown = await tool("budget/calibrate", "--no-such-flag");
  assert.equal(unknown.code, 2, unknown.err);
  assert.match(unknown.err, /^budget\/calibrate: Unknown option '--no-such-flag'\nusage: /);
  const bad = await tool("budget/calibrate", "--sizes", "64,x");
  assert.equal(bad.code, 2, bad.err);
  assert.match(bad.err, /^budget\/calibrate: --sizes takes positive integers, got "64,x"/);
});

Deno.test("tools/bench/conv_grads.ts: one line per distinct ResNet50 convolution, with its routes", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tools/bench/conv_grads.ts", "32", "--reps", "1"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(r.stdout);
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  const rows = out.split("\n").filter((l) => /\((eigen|pointwise|tensorflow)\) \|/.test(l));
  // ResNet50 has 20 distinct convolution shapes (53 convolutions) at any size.
  assert.equal(rows.length, 20, out);
  const counts = rows.reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]), 0);
  assert.equal(counts, 53);
  assert.match(rows[0], /7x7x3x64 +2 +valid .*\(tensorflow\) \|.*\(tensorflow\)$/);
  assert.match(out, /^per step: input grad default \d+, eigen \d+, ours \d+ ms/m);
});
