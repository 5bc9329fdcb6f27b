import assert, { deepStrictEqual as assertEquals, rejects } from "node:assert/strict";
import { join } from "node:path";
import { datasetFingerprint } from "../lib/data/mod.ts";

async function tree(root: string, files: Record<string, number>): Promise<void> {
  for (const [path, bytes] of Object.entries(files)) {
    await Deno.mkdir(join(root, path, ".."), { recursive: true });
    await Deno.writeFile(join(root, path), new Uint8Array(bytes));
  }
}

Deno.test("datasetFingerprint: same files same print anywhere; a changed file, another print", async () => {
  const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
  try {
    const files = { "Archie/Archie_001.png": 10, "Betty/Betty_001.png": 12, "Betty/x/y.jpg": 3 };
    await tree(a, files);
    await tree(b, { ...files, "Betty/notes.txt": 5, "SYNTHETIC.json": 7 }); // not images: ignored
    const fa = await datasetFingerprint(a);
    assert(/^[0-9a-f]{16}$/.test(fa), fa);
    assertEquals(await datasetFingerprint(b), fa);
    await Deno.writeFile(join(b, "Betty/Betty_001.png"), new Uint8Array(13)); // other size
    assert((await datasetFingerprint(b)) !== fa);
    await Deno.writeFile(join(b, "Betty/Betty_001.png"), new Uint8Array(12));
    await Deno.rename(join(b, "Betty/Betty_001.png"), join(b, "Betty/Betty_002.png")); // renamed
    assert((await datasetFingerprint(b)) !== fa);
    await rejects(datasetFingerprint(join(a, "missing")), /cannot read .*missing/);
    await Deno.mkdir(join(a, "empty"));
    await rejects(datasetFingerprint(join(a, "empty")), /no images under .*empty/);
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});
