import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";
import sharp from "sharp";
import { plot } from "../lib/plots/dom.ts";
import {
  display,
  displayTable,
  formatCell,
  formatDuration,
  progressBar,
  progressLine,
  progressReporter,
  saveFigure,
  svgDocument,
  svgToPng,
  toSvg,
} from "../lib/display/mod.ts";
import { _internals, type JupyterApi, publish } from "../lib/display/jupyter.ts";
import { defaultProgress, silentProgress } from "../lib/io/mod.ts";

type Msg = { type: string; content: Record<string, unknown> };

/** Runs `fn` with a fake kernel that records what would go to the notebook. */
async function withFakeJupyter(fn: (msgs: Msg[]) => Promise<void>): Promise<void> {
  const msgs: Msg[] = [];
  const fake: JupyterApi = {
    broadcast(type, content) {
      msgs.push({ type, content: structuredClone(content) });
      return Promise.resolve();
    },
  };
  const saved = _internals.jupyter;
  _internals.jupyter = () => fake;
  try {
    await fn(msgs);
  } finally {
    _internals.jupyter = saved;
  }
}

const bars = () => plot({ marks: [Plot.barY([3, 1, 2])] });
const withLegend = () =>
  plot({
    title: "Three bars",
    caption: "a caption",
    color: { legend: true },
    marks: [
      Plot.barY([{ k: "Archie", v: 3 }, { k: "Betty", v: 1 }], { x: "k", y: "v", fill: "k" }),
    ],
  });

async function pngSize(bytes: Uint8Array) {
  const m = await sharp(bytes).metadata();
  return [m.format, m.width, m.height];
}

Deno.test("toSvg: a Plot <svg> becomes a standalone SVG document that sharp renders", async () => {
  const svg = toSvg(bars());
  assert(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'), svg.slice(0, 80));
  assertEquals(await pngSize(await svgToPng(svg, { scale: 1 })), ["png", 640, 400]);
  assertEquals(await pngSize(await svgToPng(svg)), ["png", 1280, 800]);
});

Deno.test("toSvg: a <figure> with title and legend is laid out as one SVG with all its parts", () => {
  const { svg, width, height } = svgDocument(withLegend());
  const { document } = parseHTML(`<html><body>${svg}</body></html>`);
  const root = document.querySelector("svg")!;
  assertEquals(width, 640);
  assert(height > 400, `height ${height} leaves room for title, legend and caption`);
  const texts = Array.from(root.querySelectorAll(":scope > text")).map((t) => t.textContent);
  assertEquals(texts, ["Three bars", "Archie", "Betty", "a caption"]);
  assertEquals(root.querySelectorAll(":scope > svg").length, 1);
  assertEquals(root.querySelectorAll("rect[aria-label], g[aria-label=bar] rect").length, 2);
});

Deno.test("toSvg: markup strings are accepted; a figure without a chart is an error", () => {
  assert(toSvg('<svg width="10" height="5"><rect width="10" height="5"/></svg>').includes("xmlns"));
  assert.throws(() => toSvg("<div><p>no chart</p></div>"), /holds no <svg> chart/);
  assert.throws(() => toSvg("just text"), /no element/);
});

Deno.test("display: in Jupyter an <svg> goes out as image/svg+xml + image/png + text/plain", async () => {
  await withFakeJupyter(async (msgs) => {
    assertEquals(await display(bars(), { title: "bars" }), undefined);
    assertEquals(msgs.length, 1);
    assertEquals(msgs[0].type, "display_data");
    const data = msgs[0].content.data as Record<string, string>;
    assertEquals(Object.keys(data).sort(), ["image/png", "image/svg+xml", "text/plain"]);
    assertEquals(data["text/plain"], "bars");
    assert(data["image/svg+xml"].startsWith("<svg"));
    const png = Uint8Array.from(atob(data["image/png"]), (c) => c.charCodeAt(0));
    assertEquals(await pngSize(png), ["png", 1280, 800]);
    assertEquals(msgs[0].content.metadata, { "image/png": { width: 640, height: 400 } });
  });
});

Deno.test("display: an HTML <figure> goes out as text/html with a PNG fallback", async () => {
  await withFakeJupyter(async (msgs) => {
    await display(withLegend());
    const data = msgs[0].content.data as Record<string, string>;
    assertEquals(Object.keys(data).sort(), ["image/png", "text/html", "text/plain"]);
    assert(data["text/html"].startsWith("<figure"));
    assert(/^Figure 640×\d+$/.test(data["text/plain"]), data["text/plain"]);
  });
});

Deno.test("display with saveAs, saveFigure: .svg and .png files; outside Jupyter nothing sent", async () => {
  const dir = await Deno.makeTempDir();
  const logged: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => logged.push(a.join(" "));
  try {
    await display(bars(), { saveAs: join(dir, "sub", "bars.png"), scale: 1, title: "Bars" });
    assertEquals(logged, [
      `Bars: saved ${join(dir, "sub", "bars.svg")} and ${join(dir, "sub", "bars.png")}`,
    ]);
    assert((await Deno.readTextFile(join(dir, "sub", "bars.svg"))).includes("<svg xmlns"));
    assertEquals(await pngSize(await Deno.readFile(join(dir, "sub", "bars.png"))), [
      "png",
      640,
      400,
    ]);
    const saved = await saveFigure(withLegend(), join(dir, "legend"));
    assertEquals(saved.svgPath, join(dir, "legend.svg"));
    assertEquals(saved.pngPath, join(dir, "legend.png"));
    assertEquals(await pngSize(await Deno.readFile(saved.pngPath)), [
      "png",
      2 * saved.width,
      2 * saved.height,
    ]);
  } finally {
    console.log = log;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("display: HTML without a chart is shown as HTML; saving it as a picture is an error", async () => {
  await withFakeJupyter(async (msgs) => {
    await display("<div><p>Just <b>text</b></p></div>");
    assertEquals(msgs[0].content.data, {
      "text/html": "<div><p>Just <b>text</b></p></div>",
      "text/plain": "Just text",
    });
    await assert.rejects(display("<div>x</div>", { saveAs: "/tmp/never" }), /no <svg> chart/);
  });
});

Deno.test("displayTable: HTML + text/plain in Jupyter, numbers right-aligned, escaped", async () => {
  await withFakeJupyter(async (msgs) => {
    await displayTable(
      [{ class: "Pop <Tate>", images: 85, mean: 470.5123 }, { class: "Betty", images: 699 }],
      ["class", { key: "images", label: "n" }, "mean"],
      { title: "Counts" },
    );
    const text = (msgs[0].content.data as Record<string, string>)["text/plain"];
    assertEquals(
      text,
      [
        "Counts",
        "class         n    mean",
        "----------  ---  ------",
        "Pop <Tate>   85  470.51",
        "Betty       699",
      ].join("\n"),
    );
    const data = msgs[0].content.data as Record<string, string>;
    const { document } = parseHTML(`<html><body>${data["text/html"]}</body></html>`);
    assertEquals(document.querySelector("caption")!.textContent, "Counts");
    const cells = Array.from(document.querySelectorAll("tbody td")).map((td) => td.textContent);
    assertEquals(cells, ["Pop <Tate>", "85", "470.51", "Betty", "699", ""]);
    assert(
      document.querySelector("tbody td:nth-child(2)")!.getAttribute("style")!.includes("right"),
    );
  });
});

Deno.test("formatCell and formatDuration", () => {
  assertEquals(formatCell(3), "3");
  assertEquals(formatCell(2 / 3), "0.67");
  assertEquals(formatCell(2 / 3, 4), "0.6667");
  assertEquals(formatCell(null), "");
  assertEquals(formatCell("x"), "x");
  assertEquals(formatDuration(5), "0:05");
  assertEquals(formatDuration(125), "2:05");
  assertEquals(formatDuration(3725), "1:02:05");
  assertEquals(formatDuration(NaN), "?");
});

Deno.test("progressLine: bar, counts, percent, times, text", () => {
  assertEquals(
    progressLine("epochs", 12, 40, 3, "loss 1.2"),
    "epochs  [#######.................]  12/40  30%  0:03<0:07  loss 1.2",
  );
  assertEquals(progressLine("", 0, 4, 0), "[........................]  0/4  0%  0:00<?");
});

Deno.test("progressBar in Jupyter: one display_id, updated in place, throttled, final state", async () => {
  await withFakeJupyter(async (msgs) => {
    const bar = progressBar({ total: 100, title: "scan", throttleMs: 60_000 });
    for (let i = 1; i <= 100; i++) bar.update(i, `file ${i}`);
    await bar.finish("done");
    bar.update(50); // after finish: ignored
    const ids = new Set(
      msgs.map((m) => (m.content.transient as { display_id: string }).display_id),
    );
    assertEquals(ids.size, 1);
    assertEquals(msgs[0].type, "display_data");
    assert(msgs.slice(1).every((m) => m.type === "update_display_data"));
    // throttled: the first display, then nothing until finish
    assertEquals(msgs.length, 2);
    const last = (msgs.at(-1)!.content.data as Record<string, string>)["text/plain"];
    assert(last.startsWith("scan  [########################]  100/100  100%"), last);
    assert(last.endsWith("done"), last);
  });
  await withFakeJupyter(async (msgs) => {
    const bar = progressBar({ total: 3, throttleMs: 0 });
    for (let i = 1; i <= 3; i++) bar.update(i);
    await bar.finish();
    assertEquals(msgs.length, 5);
  });
});

Deno.test("progressBar plain: start, quarters and end lines; bad totals rejected", async () => {
  const lines: string[] = [];
  const bar = progressBar({ total: 8, title: "t", mode: "plain", log: (l) => lines.push(l) });
  for (let i = 1; i <= 8; i++) bar.update(i);
  await bar.finish("ok");
  assertEquals(lines.map((l) => l.split("  ")[2]), ["0/8", "2/8", "4/8", "6/8", "8/8"]);
  assert(lines.at(-1)!.endsWith("ok"));
  assert.throws(() => progressBar({ total: 0 }), /total must be a positive number/);
  const other = progressBar({ total: 2, mode: "silent" });
  assert.throws(() => other.update(NaN), RangeError);
});

Deno.test("loading lib/display makes its progress bar lib/io's default reporter", async () => {
  assert(defaultProgress() !== silentProgress);
  const lines: string[] = [];
  const log = console.log;
  console.log = (l: string) => void lines.push(l);
  try {
    const bar = progressReporter("plain")(4, "scan");
    bar.update(4);
    await bar.finish("ok");
  } finally {
    console.log = log;
  }
  assertEquals(lines.map((l) => l.split("  ")[0]), ["scan", "scan"]);
  assert(lines.at(-1)!.includes("4/4") && lines.at(-1)!.endsWith("ok"));
});

Deno.test("publish: update needs a display id; outside Jupyter nothing is sent", async () => {
  assertEquals(await publish({ "text/plain": "x" }), false);
  await withFakeJupyter(async () => {
    await assert.rejects(publish({ "text/plain": "x" }, { update: true }), /displayId/);
  });
});
