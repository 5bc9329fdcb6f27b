/**
 * Measures the peak memory of ResNet50 training steps with the native engine
 * and fits lib/budget's `CALIBRATION` (`activationFactor`, `baseBytes`; the
 * points of the current one are in `calibration-cpu.json` beside this file). Each (size, batch) point runs in a fresh process (peak RSS
 * only grows), builds ResNet50 (23 classes), trains 3 steps of random
 * 0-255 images with `fit` (Adam), and reports its `VmHWM`.
 *
 * Run: `bash tools/alloc.sh deno run -A tools/budget/calibrate.ts [--sizes 64,96,128] [--batches 2,4] [--add earlier.json]`
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseCommandLine, usageError } from "../cli.ts";
import { activationValues, formatBytes, peakRss, resetPeakRss } from "../../lib/budget/mod.ts";
import { olsFit } from "../../lib/metrics/mod.ts";
import { engineInfo, initEngine, tf } from "../../lib/engine/mod.ts";
import { resnet50 } from "../../lib/models/mod.ts";
import { fit } from "../../lib/train/mod.ts";
import type { BatchDataset } from "../../lib/data/mod.ts";

const USAGE = "deno run -A tools/budget/calibrate.ts [--sizes 64,96,128] [--batches 2,4] " +
  "[--add earlier.json]";

/** One measured point. */
export interface CalibrationPoint {
  size: number;
  batch: number;
  params: number;
  activationValuesPerSample: number;
  /** Peak RSS after the engine loaded and before the model was built, bytes. */
  rssAfterInit: number;
  /** RSS once the model is built, before training, bytes. */
  rssAfterBuild: number;
  /** Peak RSS over the 3 training steps (high-water mark reset after the build), bytes. */
  peakRss: number;
  /** Peak RSS over the build and the steps (not reset), bytes. */
  peakRssWithBuild: number;
  engine: string;
}

async function measure(size: number, batch: number): Promise<CalibrationPoint> {
  await initEngine();
  tf.tidy(() => tf.ones([2, 2]).matMul(tf.ones([2, 2])).dataSync());
  const rssAfterInit = peakRss();
  const model = resnet50({ inputShape: [size, size, 3], classes: 23, weights: null, seed: 1 });
  const rssAfterBuild = Deno.memoryUsage().rss;
  const peakWithBuild = peakRss();
  resetPeakRss();
  const steps = 3;
  const ds: BatchDataset = {
    classNames: Array.from({ length: 23 }, (_, i) => `c${i}`),
    filePaths: [],
    labels: [],
    batchSize: batch,
    imageSize: [size, size] as [number, number],
    channels: 3,
    cardinality: steps,
    async *[Symbol.asyncIterator]() {
      for (let s = 0; s < steps; s++) {
        yield {
          x: tf.randomUniform([batch, size, size, 3], 0, 255) as tf.Tensor4D,
          y: tf.oneHot(
            tf.tensor1d(Array.from({ length: batch }, (_, i) => (i + s) % 23), "int32"),
            23,
          )
            .toFloat(),
        };
      }
    },
  };
  await fit(model, ds, { epochs: 1, learningRate: 1e-4, verbose: 0 });
  return {
    size,
    batch,
    params: model.countParams(),
    activationValuesPerSample: activationValues(model),
    rssAfterInit,
    rssAfterBuild,
    peakRss: peakRss(),
    peakRssWithBuild: Math.max(peakWithBuild, peakRss()),
    engine: engineInfo().engine,
  };
}

/** The fitted calibration and how well it fits. */
export interface CalibrationFit {
  activationFactor: number;
  baseBytes: number;
  floorBytes: number;
  /** r^2 of the line over the activation-dominated points. */
  r2: number;
  /** How many points the line was fitted on. */
  linePoints: number;
}

/**
 * Fits `peak = max(floor, base + 16 x params + factor x 4 x batch x activations)`.
 * Small steps all peak near the same floor (first-step allocations of the
 * engine), so the line is fitted by least squares on the points clearly
 * above it (peak > 1.15 x the lowest peak), and the floor is the highest peak
 * of the others. With fewer than 2 such points, the line uses all points.
 */
export function fitCalibration(points: CalibrationPoint[]): CalibrationFit {
  if (points.length < 2) throw new RangeError("fitCalibration: needs at least 2 points");
  const low = Math.min(...points.map((p) => p.peakRss));
  let line = points.filter((p) => p.peakRss > 1.15 * low);
  const rest = points.filter((p) => p.peakRss <= 1.15 * low);
  if (line.length < 2) line = points;
  const fit = olsFit(
    line.map((p) => 4 * p.batch * p.activationValuesPerSample),
    line.map((p) => p.peakRss - 16 * p.params),
  );
  return {
    activationFactor: fit.slope,
    baseBytes: fit.intercept,
    floorBytes: rest.length ? Math.max(...rest.map((p) => p.peakRss)) : 0,
    r2: fit.r2,
    linePoints: line.length,
  };
}

if (import.meta.main) {
  const { values } = parseCommandLine("budget/calibrate", USAGE, {
    options: {
      point: { type: "string" },
      sizes: { type: "string", default: "64,96,128" },
      batches: { type: "string", default: "2,4" },
      /** A JSON file of earlier points (this script's output) to fit together with the new ones. */
      add: { type: "string" },
    },
  });
  const numbers = (name: string, text: string) => {
    const xs = text.split(",").map(Number);
    if (!xs.every((x) => Number.isInteger(x) && x > 0)) {
      usageError("budget/calibrate", `--${name} takes positive integers, got "${text}"`);
    }
    return xs;
  };
  if (values.point) {
    const [s, b] = numbers("point", values.point);
    console.log(JSON.stringify(await measure(s, b)));
  } else {
    const points: CalibrationPoint[] = values.add
      ? JSON.parse(await Deno.readTextFile(values.add)).points
      : [];
    for (const s of numbers("sizes", values.sizes!)) {
      for (const b of numbers("batches", values.batches!)) {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", fileURLToPath(import.meta.url), "--point", `${s},${b}`],
          stdout: "piped",
          stderr: "inherit",
        }).output();
        if (!out.success) throw new Error(`calibration point ${s} px, batch ${b} failed`);
        const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop()!;
        const p = JSON.parse(line) as CalibrationPoint;
        points.push(p);
        console.log(
          `${s} px batch ${b}: peak ${formatBytes(p.peakRss)}, after init ${
            formatBytes(p.rssAfterInit)
          }, activations/sample ${p.activationValuesPerSample}`,
        );
      }
    }
    const cal = fitCalibration(points);
    console.log(JSON.stringify({ points, fit: cal }, null, 2));
    for (const p of points) {
      const est = Math.max(
        cal.floorBytes,
        cal.baseBytes + 16 * p.params + cal.activationFactor * 4 * p.batch *
            p.activationValuesPerSample,
      );
      console.log(
        `${p.size} px b${p.batch}: measured ${formatBytes(p.peakRss)}, fitted ${formatBytes(est)}`,
      );
    }
  }
}
