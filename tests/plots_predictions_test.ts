/** predictionGrid: thumbnails with the true class and the model's top classes, right/wrong marked. */
import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { parseHTML } from "linkedom";
import { predictionGrid } from "../lib/plots/mod.ts";

Deno.test("predictionGrid: each image with its true class and top-3, the true class marked", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pred_grid_test_" });
  try {
    const paths = [];
    for (let i = 0; i < 3; i++) {
      const path = join(dir, `img ${i}.png`);
      await sharp({
        create: { width: 60 + 40 * i, height: 90, channels: 3, background: "#3366cc" },
      })
        .png().toFile(path);
      paths.push(path);
    }
    const items = [
      {
        path: paths[0],
        trueClass: "Archie",
        top: [
          { className: "Archie", probability: 0.8 },
          { className: "Betty", probability: 0.15 },
          { className: "Jughead", probability: 0.05 },
        ],
      },
      {
        path: paths[1],
        trueClass: "Betty",
        top: [
          { className: "Archie", probability: 0.5 },
          { className: "Betty", probability: 0.3 },
          { className: "Kevin", probability: 0.1 },
        ],
      },
      {
        path: paths[2],
        trueClass: "Moose <& Midge>",
        top: [
          { className: "Archie", probability: 0.6 },
          { className: "Betty", probability: 0.3 },
          { className: "Kevin", probability: 0.05 },
        ],
      },
    ];
    const fig = await predictionGrid(items, { columns: 2, thumb: 80, title: "Validation" });
    const doc = parseHTML(`<!DOCTYPE html><html><body>${fig.outerHTML}</body></html>`).document;
    const cells = Array.from(doc.querySelectorAll("g.prediction-cell"));
    assertEquals(cells.map((c) => c.getAttribute("data-path")), paths);
    assertEquals(cells.map((c) => c.classList.contains("correct")), [true, false, false]);
    assertEquals(
      cells.map((c) => c.querySelector("text.true-class")!.textContent),
      ["true: Archie", "true: Betty", "true: Moose <& Midge>"],
    );
    assertEquals(
      Array.from(cells[1].querySelectorAll("text.top-class")).map((t) => t.textContent),
      ["1. Archie 50.0%", "2. Betty 30.0%", "3. Kevin 10.0%"],
    );
    // the true class is marked where it appears in the list, and nowhere when it is absent
    assertEquals(cells.map((c) => c.querySelectorAll("text.is-true").length), [1, 1, 0]);
    assertEquals(cells[1].querySelector("text.is-true")!.textContent, "2. Betty 30.0%");
    for (const c of cells) {
      assert(c.querySelector("image")!.getAttribute("href")!.startsWith("data:image/jpeg;base64,"));
    }
    await assert.rejects(() => predictionGrid([]), /no images/);
    await assert.rejects(
      () => predictionGrid([{ ...items[0], path: join(dir, "missing.png") }]),
      /predictionGrid: cannot read image .*missing\.png/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
