import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import {
  defaultProgress,
  escapeXml,
  type ProgressReporter,
  setDefaultProgress,
  silentProgress,
  walk,
  writeAtomically,
  writeFileAtomic,
} from "../lib/io/mod.ts";

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

Deno.test("writeFileAtomic replaces the file, creates the folder, leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "sub", "a.json");
    // A temporary file an earlier killed write left behind.
    await Deno.mkdir(join(dir, "sub"));
    await Deno.writeTextFile(join(dir, "sub", ".a.json.tmp-1-dead"), "junk");
    await writeFileAtomic(path, "first");
    await writeFileAtomic(path, new TextEncoder().encode("second"));
    assertEquals(await Deno.readTextFile(path), "second");
    assertEquals([...Deno.readDirSync(join(dir, "sub"))].map((e) => e.name), ["a.json"]);
    await writeFileAtomic(join(dir, "b.u8"), new Uint8Array([1, 2, 3]), { durable: false });
    assertEquals([...await Deno.readFile(join(dir, "b.u8"))], [1, 2, 3]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic: a failed write keeps the old content and removes its temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "target");
    await Deno.mkdir(path); // a non-empty folder: the rename over it fails
    await Deno.writeTextFile(join(path, "inside"), "x");
    await assert.rejects(writeFileAtomic(path, "new"));
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["target"]);
    assertEquals(await Deno.readTextFile(join(path, "inside")), "x");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeAtomically: a writer given a temporary path; a throwing writer leaves the old file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "m.h5");
    await writeAtomically(path, (tmp) => Deno.writeTextFileSync(tmp, "v1"));
    assertEquals(await Deno.readTextFile(path), "v1");
    await assert.rejects(
      writeAtomically(path, async (tmp) => {
        await Deno.writeTextFile(tmp, "half");
        throw new Error("writer failed");
      }),
      /writer failed/,
    );
    assertEquals(await Deno.readTextFile(path), "v1");
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["m.h5"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("walk: top-down, sorted, links, include, errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const d of ["b", "a", "a/z", "a-b", ".hidden"]) await Deno.mkdir(join(dir, d));
    for (const f of ["b/2", "b/1", "a/z/f", "a-b/g", "top"]) {
      await Deno.writeTextFile(join(dir, f), "");
    }
    await Deno.symlink(join(dir, "b"), join(dir, "link"));
    const seen = [];
    for await (const e of walk(dir, { compare: byName, include: (n) => !n.startsWith(".") })) {
      seen.push([e.root.slice(dir.length), e.dirs, e.files]);
    }
    assertEquals(seen, [
      ["", ["a", "a-b", "b", "link"], ["top"]],
      ["/a", ["z"], []],
      ["/a/z", [], ["f"]],
      ["/a-b", [], ["g"]],
      ["/b", [], ["1", "2"]],
      ["/link", [], ["1", "2"]],
    ]);
    const noLinks = [];
    for await (const e of walk(dir, { followLinks: false, compare: byName })) noLinks.push(e.root);
    assert(!noLinks.some((r) => r.endsWith("/link")));
    assert(noLinks.some((r) => r.endsWith("/.hidden")));
    const missing = join(dir, "missing");
    await assert.rejects(walk(missing).next(), (e: Error) => e.message.includes(missing));
    assertEquals((await walk(missing, { onError: "skip" }).next()).done, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("escapeXml escapes the five XML specials and nothing else", () => {
  assertEquals(escapeXml(`Pop "Tate" & <co>'s`), "Pop &quot;Tate&quot; &amp; &lt;co&gt;&#39;s");
  assertEquals(escapeXml("Betty Cooper"), "Betty Cooper");
});

Deno.test("setDefaultProgress installs the reporter defaultProgress returns, and gives the old one back", async () => {
  const lines: string[] = [];
  const mine: ProgressReporter = (total, title) => ({
    update: (n, text) => lines.push(`${title} ${n}/${total} ${text ?? ""}`.trim()),
    finish: () => Promise.resolve(void lines.push("done")),
  });
  const previous = setDefaultProgress(mine);
  try {
    const p = defaultProgress()(2, "scan");
    p.update(1, "a");
    await p.finish();
    assertEquals(lines, ["scan 1/2 a", "done"]);
  } finally {
    setDefaultProgress(previous);
  }
  assertEquals(defaultProgress(), previous);
  const quiet = silentProgress(3, "x");
  quiet.update(1);
  await quiet.finish();
});
