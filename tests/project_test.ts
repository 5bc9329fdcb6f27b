/**
 * The project's own hygiene, as CI sees it: formatted, lint-clean,
 * type-checked (the README's code included), and the README opening with its
 * two commands.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "./_python.ts";

async function deno(...args: string[]): Promise<{ ok: boolean; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { ok: r.success, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

Deno.test("deno fmt --check and deno lint are clean", async () => {
  const fmt = await deno("fmt", "--check");
  assert.ok(fmt.ok, fmt.out);
  const lint = await deno("lint");
  assert.ok(lint.ok, lint.out);
});

Deno.test("lib, tools and tests type-check, and so does the README's example", async () => {
  const check = await deno("check", "lib/", "tools/", "tests/");
  assert.ok(check.ok, check.out);
  const doc = await deno("check", "--doc-only", "README.md");
  assert.ok(doc.ok, doc.out);
});

Deno.test("the README opens with the study command and the test command", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const firstBlock = readme.match(/```sh\n([\s\S]*?)```/);
  assert.ok(firstBlock, "README has no sh block");
  const commands = firstBlock[1].split("\n").filter((l) => l.trim()).map((l) =>
    l.replace(/#.*/, "").trim()
  );
  assert.deepEqual(commands, ["./acmc study", "./acmc test"]);
  assert.ok(readme.indexOf(firstBlock[0]) < readme.indexOf("\n## "), "the commands come first");
});
