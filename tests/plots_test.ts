import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import sharp from "sharp";
import { parseHTML } from "linkedom";
import { classDistributionChart, imageGrid, sizeScatterChart } from "../lib/plots/mod.ts";
import { svgDocument, svgToPng } from "../lib/display/mod.ts";
import { ACMC_COUNTS } from "../lib/reference/mod.ts";
import { labelMargin } from "../lib/plots/layout.ts";

/** Parses a figure's markup again, as a notebook or browser would get it. */
function reparse(markup: string): Document {
  return parseHTML(`<!DOCTYPE html><html><body>${markup}</body></html>`)
    .document as unknown as Document;
}

Deno.test("classDistributionChart: 23 bars with their counts, rotated class labels", () => {
  const fig = classDistributionChart(ACMC_COUNTS, { title: "Images per class" });
  const doc = reparse(fig.outerHTML);
  const bars = doc.querySelectorAll("g.class-bar rect");
  assertEquals(bars.length, 23);
  const labels = Array.from(doc.querySelectorAll("g.count-label text"))
    .map((t) => Number(t.textContent));
  // Sorted by count, largest first, and the numbers are the counts.
  assertEquals(labels, Object.values(ACMC_COUNTS).sort((a, b) => b - a));
  // Bar heights follow the counts: Archie (1284) is the tallest bar.
  const heights = Array.from(bars).map((r) => Number(r.getAttribute("height")));
  assertEquals(heights.indexOf(Math.max(...heights)), 0);
  assert(heights.every((h, i) => i === 0 || h <= heights[i - 1] + 1e-9));
  const ticks = Array.from(doc.querySelectorAll('g[aria-label="x-axis tick label"] text'));
  assertEquals(ticks.map((t) => t.textContent)[0], "Archie");
  assert(ticks.some((t) => t.textContent === "Harry Clayton"));
  assert(
    (doc.querySelector('g[aria-label="x-axis tick label"]')!.getAttribute("transform") ?? "")
      .includes("rotate(-45)") ||
      ticks.every((t) => (t.getAttribute("transform") ?? "").includes("rotate(-45)")),
    "labels rotated",
  );
  const byName = classDistributionChart({ b: 1, a: 2 }, { sort: "name" });
  assertEquals(
    Array.from(reparse(byName.outerHTML).querySelectorAll('g[aria-label="x-axis tick label"] text'))
      .map((t) => t.textContent),
    ["a", "b"],
  );
  assert.throws(() => classDistributionChart({}), /no classes/);
});

Deno.test("sizeScatterChart: one dot per image, square line, renders to PNG", async () => {
  const sizes = Array.from({ length: 57 }, (_, i) => ({ width: 20 + i * 7, height: 400 - i * 3 }));
  const fig = sizeScatterChart(sizes);
  const doc = reparse(fig.outerHTML);
  assertEquals(doc.querySelectorAll("g.image-dot circle").length, 57);
  assertEquals(doc.querySelectorAll("g.square-line path").length, 1);
  const noLine = reparse(sizeScatterChart(sizes, { squareLine: false }).outerHTML);
  assertEquals(noLine.querySelectorAll("g.square-line").length, 0);
  const png = await svgToPng(svgDocument(fig).svg, { scale: 1 });
  assertEquals((await sharp(png).metadata()).width, 640);
  assert.throws(() => sizeScatterChart([]), /no image sizes/);
});

Deno.test("imageGrid: every sampled image embedded, titled with class and size", async () => {
  const dir = await Deno.makeTempDir({ prefix: "grid_test_" });
  try {
    const images = [];
    const colours = ["#ff0000", "#00ff00", "#0000ff", "#ffff00", "#00ffff"];
    for (let i = 0; i < 5; i++) {
      const path = join(dir, `img ${i}.png`);
      const width = 40 + i * 90, height = 300 - i * 50;
      await sharp({ create: { width, height, channels: 3, background: colours[i] } }).png()
        .toFile(path);
      images.push({ path, className: i % 2 ? "Pop Tate" : "Archie", width, height });
    }
    const fig = await imageGrid(images, { columns: 3, thumb: 100, title: "Sample" });
    const doc = reparse(fig.outerHTML);
    const cells = Array.from(doc.querySelectorAll("g.grid-image"));
    assertEquals(cells.map((c) => c.getAttribute("data-path")), images.map((i) => i.path));
    assertEquals(
      cells.map((c) => c.querySelector("text")!.textContent),
      images.map((i) => `${i.className} ${i.width}×${i.height}`),
    );
    for (const [k, c] of cells.entries()) {
      const href = c.querySelector("image")!.getAttribute("href")!;
      assert(href.startsWith("data:image/jpeg;base64,"));
      const thumb = Buffer.from(href.slice(href.indexOf(",") + 1), "base64");
      const meta = await sharp(thumb).metadata();
      assert(Math.max(meta.width!, meta.height!) <= 100, "thumbnail fits the box");
      // The thumbnail is the image: its colour survives.
      const { dominant } = await sharp(thumb).stats();
      const want = parseInt(colours[k].slice(1), 16);
      assert(Math.abs(dominant.r - (want >> 16)) < 40 && Math.abs(dominant.b - (want & 255)) < 40);
    }
    // 3 columns x 2 rows; the PNG a notebook shows renders from it.
    const { width, height } = svgDocument(fig);
    assertEquals(width, 3 * 108 + 8);
    assertEquals(height, 26 + 2 * 138 + 8);
    const png = await sharp(await svgToPng(svgDocument(fig).svg, { scale: 1 })).stats();
    assert(
      png.channels[0].max === 255 && png.channels[2].max === 255,
      "thumbnails drawn in the PNG",
    );

    await assert.rejects(imageGrid([]), /no images/);
    await assert.rejects(
      imageGrid([{ ...images[0], path: join(dir, "gone.png") }]),
      (e: Error) => e.message.includes(join(dir, "gone.png")),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("labelMargin: room for the longest label, rounded up, at least min", () => {
  assertEquals(labelMargin(["Archie", "Harry Clayton"]), Math.ceil(16 + 13 * 6.5));
  assertEquals(labelMargin(["ab"], { perChar: 7, pad: 0 }), 14);
  assertEquals(labelMargin(["abc"], { perChar: 5.2, min: 50 }), 50);
  assertEquals(labelMargin([], { pad: 3 }), 3);
});
