import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { initEngine } from "../lib/engine/mod.ts";
import { generateStandIn } from "../lib/synth/mod.ts";
import { blogClassOrder, studyData, studySplit } from "../lib/experiments/study_data.ts";
import { silentProgress } from "../lib/io/mod.ts";

await initEngine();

Deno.test("studySplit: the blog's class order on ACMC folders, capped subsets, one-hot batches", async () => {
  const dir = await Deno.makeTempDir({ prefix: "study-split-" });
  try {
    const data = join(dir, "acmc");
    await generateStandIn({ outDir: data, scale: 0.01, seed: 3, progress: silentProgress });
    const blog = await blogClassOrder();
    assertEquals(blog.length, 23);
    const [fullTrain, fullVal] = await studySplit(data, { imageSize: 32 });
    assertEquals(fullTrain.classNames, blog);
    const total = fullTrain.filePaths.length + fullVal.filePaths.length;
    assertEquals(fullVal.filePaths.length, Math.floor(0.2 * total));
    const [train, val] = await studySplit(data, {
      imageSize: 32,
      maxTrain: 10,
      maxVal: 6,
      batchSize: 4,
    });
    assertEquals(train.filePaths, fullTrain.filePaths.slice(0, 10));
    assertEquals(val.filePaths, fullVal.filePaths.slice(0, 6));
    assertEquals(val.labels, fullVal.labels.slice(0, 6));
    let seen = 0;
    for await (const { x, y } of val) {
      assertEquals(x.shape.slice(1), [32, 32, 3]);
      assertEquals(y!.shape[1], 23);
      seen += x.shape[0];
      x.dispose();
      y!.dispose();
    }
    assertEquals(seen, 6);
    // studyData: the same capped subsets, with the totals and the class order it used.
    const sd = await studyData(data, { imageSize: 32, maxTrain: 10, maxVal: 6, batchSize: 4 });
    assertEquals(sd.train.filePaths, train.filePaths);
    assertEquals(sd.valid.filePaths, val.filePaths);
    assertEquals(sd.train.batchSize, 4);
    assertEquals(sd.valid.cardinality, 2);
    assertEquals(sd.classNames, blog);
    assertEquals(sd.blogOrder, true);
    assertEquals(sd.trainTotal, fullTrain.filePaths.length);
    assertEquals(sd.validTotal, fullVal.filePaths.length);
    // Folders that are not ACMC's: sorted names, as Keras.
    const other = join(dir, "other");
    for (const c of ["b", "a"]) {
      await Deno.mkdir(join(other, c), { recursive: true });
      for (const f of ["1.png", "2.png", "3.png"]) {
        await Deno.copyFile(
          join(data, blog[0], await firstFile(join(data, blog[0]))),
          join(other, c, f),
        );
      }
    }
    const [t2] = await studySplit(other, { imageSize: 32 });
    assertEquals(t2.classNames, ["a", "b"]);
    assert(t2.filePaths.length > 0);
    const sd2 = await studyData(other, { imageSize: 32, validationSplit: 0.5, seed: 1 });
    assertEquals(sd2.blogOrder, false);
    assertEquals([sd2.trainTotal, sd2.validTotal], [3, 3]);
    await assert.rejects(
      () => studyData(join(dir, "missing"), { imageSize: 32 }),
      /studyData: cannot read the dataset folder .*missing/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function firstFile(dir: string): Promise<string> {
  for await (const e of Deno.readDir(dir)) if (e.isFile && e.name.endsWith(".png")) return e.name;
  throw new Error(`no png in ${dir}`);
}
