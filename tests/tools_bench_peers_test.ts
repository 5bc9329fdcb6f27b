/**
 * tools/bench/peers.ts: the training bench's sides, run order and ratio lines.
 */
import assert from "node:assert/strict";
import {
  abbaOrder,
  parseSides,
  peerCommand,
  ratioLines,
  type RunFigures,
  sizeLines,
  summarize,
} from "../tools/bench/peers.ts";

const GiB = 2 ** 30;

Deno.test("bench peers: ABBA order over any number of sides", () => {
  assert.deepEqual(abbaOrder(["a", "b"], 2), ["a", "b", "b", "a"]);
  assert.deepEqual(abbaOrder(["a", "b", "c"], 3), ["a", "b", "c", "c", "b", "a", "a", "b", "c"]);
  assert.deepEqual(abbaOrder(["a"], 1), ["a"]);
});

Deno.test("bench peers: --side lists are parsed, deduplicated, and a bad one is named", () => {
  assert.deepEqual(parseSides("ours, torch_cl,ours"), ["ours", "torch_cl"]);
  assert.throws(() => parseSides("ours,pytorch"), /"pytorch" is not one of/);
});

Deno.test("bench peers: the PyTorch sides run torch_train.py, channels_last with its flag", () => {
  const cl = peerCommand("torch_cl", ["--size", "64"]);
  assert.deepEqual(cl.slice(-3), ["--size", "64", "--channels-last"]);
  assert.deepEqual(cl[1].endsWith("torch_train.py"), true);
  assert.deepEqual(peerCommand("torch", ["--size", "64"]).includes("--channels-last"), false);
  assert.deepEqual(peerCommand("keras", [])[1].endsWith("keras_train.py"), true);
});

Deno.test("bench peers: ours against the fastest peer for speed and the leanest for memory", () => {
  const runs: RunFigures[] = [
    { side: "ours", size: 64, imgPerS: 20, peakRssBytes: 1.0 * GiB },
    { side: "keras", size: 64, imgPerS: 16, peakRssBytes: 1.6 * GiB },
    { side: "torch_cl", size: 64, imgPerS: 25, peakRssBytes: 0.9 * GiB },
    { side: "torch", size: 64, imgPerS: 18, peakRssBytes: 0.8 * GiB },
    // repeats: best speed, highest memory of each side
    { side: "torch", size: 64, imgPerS: 19, peakRssBytes: 0.7 * GiB },
    { side: "ours", size: 64, imgPerS: 22, peakRssBytes: 1.1 * GiB },
    { side: "ours", size: 128, imgPerS: 12, peakRssBytes: 1.2 * GiB },
    { side: "keras", size: 128, imgPerS: 10, peakRssBytes: 1.5 * GiB },
  ];
  const [s64, s128] = summarize(runs, [64, 128]);
  assert.deepEqual(s64.fastestPeer, "torch_cl");
  assert.deepEqual(s64.speedRatio, 22 / 25);
  assert.deepEqual(s64.leanestPeer, "torch");
  assert.deepEqual(s64.memoryRatio, 1.1 / 0.8);
  assert.deepEqual(s128.fastestPeer, "keras");
  const lines = ratioLines([s64, s128]);
  assert.deepEqual(lines, [
    "train_img_per_s_ratio_vs_best_peer_64px: 0.880",
    "train_peak_rss_ratio_vs_best_peer_64px: 1.375",
    "train_img_per_s_ratio_vs_best_peer_128px: 1.200",
    "train_peak_rss_ratio_vs_best_peer_128px: 0.800",
    "train_img_per_s_ratio_vs_best_peer: 0.880",
    "train_peak_rss_ratio_vs_best_peer: 1.375",
    // Keras' lines: speed at 128 px, memory at the last size
    "train_img_per_s_ratio_vs_keras: 1.200",
    "train_peak_rss_ratio_vs_keras: 0.800",
  ]);
  assert.deepEqual(
    sizeLines([s64])[0],
    "64 px: ours (Deno) 22.00 img/s 1.10 GiB, Keras 3 16.00 img/s 1.60 GiB, " +
      "PyTorch channels_last 25.00 img/s 0.90 GiB, PyTorch NCHW 19.00 img/s 0.80 GiB; " +
      "fastest peer PyTorch channels_last, leanest PyTorch NCHW",
  );
});

Deno.test("bench peers: no ratio for a size where ours or every peer is missing", () => {
  const s = summarize([{ side: "torch", size: 64, imgPerS: 5, peakRssBytes: GiB }], [64, 256]);
  assert.deepEqual(s[0].speedRatio, null);
  assert.deepEqual(s[1].fastestPeer, null);
  assert.deepEqual(ratioLines(s), []);
});
