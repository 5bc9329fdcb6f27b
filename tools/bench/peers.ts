/**
 * The training benchmark's sides and its summary: ours (Deno), Keras 3 and
 * PyTorch (default NCHW and channels_last) on the same ResNet50, the ABBA run
 * order, and the ratio lines `deno task bench` prints.
 *
 * Every side runs in its own process and reports its peak resident memory the
 * same way: the kernel's high-water mark `VmHWM` from `/proc/self/status`, read
 * by the process itself after its last step. The Python peers run on glibc's
 * malloc, as users run them (tools/bench/train.ts' `kerasEnv`).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The project venv's Python (Keras and PyTorch peers). */
export const PYTHON: string = join(ROOT, ".venv", "bin", "python");

/** Who trains: ours, or one of the peers. */
export type Side = "ours" | "keras" | "torch" | "torch_cl";

/** Every side, in the default run order. */
export const SIDES: readonly Side[] = ["ours", "keras", "torch_cl", "torch"];

/** The peers (every side but ours). */
export const PEERS: readonly Side[] = ["keras", "torch_cl", "torch"];

/** How each side is named in the printed lines. */
export const SIDE_NAMES: Record<Side, string> = {
  ours: "ours (Deno)",
  keras: "Keras 3",
  torch_cl: "PyTorch channels_last",
  torch: "PyTorch NCHW",
};

/** Parses a comma-separated `--side` list (`ours,torch_cl`); throws naming a bad entry. */
export function parseSides(list: string): Side[] {
  const out: Side[] = [];
  for (const raw of list.split(",")) {
    const s = raw.trim();
    if (!(SIDES as readonly string[]).includes(s)) {
      throw new Error(`--side ${list}: "${s}" is not one of ${SIDES.join(", ")}`);
    }
    if (!out.includes(s as Side)) out.push(s as Side);
  }
  return out;
}

/**
 * The order of runs for one size: the sides, then the sides reversed, and so
 * on, `repeats` times (ours, Keras, Keras, ours for two sides): a drift in the
 * machine's speed during the size's runs then hits every side alike.
 */
export function abbaOrder<T>(sides: readonly T[], repeats: number): T[] {
  const order: T[] = [];
  for (let r = 0; r < repeats; r++) order.push(...(r % 2 ? [...sides].reverse() : sides));
  return order;
}

/** The command line of a Python peer's worker (`common`: --size, --steps, ...). */
export function peerCommand(side: Exclude<Side, "ours">, common: string[]): string[] {
  const script = side === "keras" ? "keras_train.py" : "torch_train.py";
  return [
    PYTHON,
    join(ROOT, "tools", "bench", script),
    ...common,
    ...(side === "torch_cl" ? ["--channels-last"] : []),
  ];
}

/**
 * Extra environment of a PyTorch peer: OpenMP's waiting threads sleep
 * (`OMP_WAIT_POLICY=PASSIVE`) unless the caller's environment says otherwise.
 * With OpenMP's default spinning, a thread waiting at the end of each op for a
 * partner that another process descheduled keeps its core busy; on the shared
 * machine that made PyTorch 10-30x slower (64 px, load average 16: 27.7 s per
 * step spinning, 0.9-2.8 s passive), which says nothing about PyTorch.
 */
export function torchEnv(): Record<string, string> {
  return { OMP_WAIT_POLICY: Deno.env.get("OMP_WAIT_POLICY") ?? "PASSIVE" };
}

/** What {@linkcode summarize} needs of one run. */
export interface RunFigures {
  side: Side;
  size: number;
  imgPerS: number;
  peakRssBytes: number;
}

/** One size's comparison of ours with the peers. */
export interface SizeSummary {
  size: number;
  /** Ours / the fastest peer's images per second (null when ours or no peer ran). */
  speedRatio: number | null;
  /** The fastest peer. */
  fastestPeer: Side | null;
  /** Ours / the leanest peer's peak RSS. */
  memoryRatio: number | null;
  /** The peer with the lowest peak RSS. */
  leanestPeer: Side | null;
  /** Each side's best images/s and highest peak RSS over its repeats. */
  sides: Partial<Record<Side, { imgPerS: number; peakRssBytes: number }>>;
}

/**
 * Per size: each side's best images/s and highest peak RSS over its repeats,
 * and ours against the best peer: the fastest for speed, the leanest for
 * memory (the demanding comparison on each axis).
 */
export function summarize(runs: RunFigures[], sizes: number[]): SizeSummary[] {
  return sizes.map((size) => {
    const sides: SizeSummary["sides"] = {};
    for (const r of runs.filter((r) => r.size === size)) {
      const s = sides[r.side];
      sides[r.side] = s
        ? {
          imgPerS: Math.max(s.imgPerS, r.imgPerS),
          peakRssBytes: Math.max(s.peakRssBytes, r.peakRssBytes),
        }
        : { imgPerS: r.imgPerS, peakRssBytes: r.peakRssBytes };
    }
    const peers = PEERS.filter((p) => sides[p]);
    const ours = sides.ours;
    const fastestPeer = peers.length
      ? peers.reduce((a, b) => (sides[b]!.imgPerS > sides[a]!.imgPerS ? b : a))
      : null;
    const leanestPeer = peers.length
      ? peers.reduce((a, b) => (sides[b]!.peakRssBytes < sides[a]!.peakRssBytes ? b : a))
      : null;
    return {
      size,
      speedRatio: ours && fastestPeer ? ours.imgPerS / sides[fastestPeer]!.imgPerS : null,
      fastestPeer,
      memoryRatio: ours && leanestPeer
        ? ours.peakRssBytes / sides[leanestPeer]!.peakRssBytes
        : null,
      leanestPeer,
      sides,
    };
  });
}

const gib = (b: number) => (b / 2 ** 30).toFixed(2);

/**
 * One human-readable line per size: each side's best images/s and highest peak
 * RSS, and which peer was fastest and which leanest.
 */
export function sizeLines(summary: SizeSummary[]): string[] {
  return summary.map((s) => {
    const sides = (Object.keys(s.sides) as Side[]).sort((a, b) =>
      SIDES.indexOf(a) - SIDES.indexOf(b)
    ).map((side) =>
      `${SIDE_NAMES[side]} ${s.sides[side]!.imgPerS.toFixed(2)} img/s ` +
      `${gib(s.sides[side]!.peakRssBytes)} GiB`
    );
    const best = s.fastestPeer
      ? `; fastest peer ${SIDE_NAMES[s.fastestPeer]}, leanest ${SIDE_NAMES[s.leanestPeer!]}`
      : "";
    return `${s.size} px: ${sides.join(", ")}${best}`;
  });
}

/**
 * The ratio lines, `key: value` each (bare numbers, for scripts):
 * - per size, `train_img_per_s_ratio_vs_best_peer_<N>px` (ours / the fastest
 *   peer's images/s) and `train_peak_rss_ratio_vs_best_peer_<N>px` (ours / the
 *   leanest peer's peak RSS);
 * - `train_img_per_s_ratio_vs_best_peer` and `train_peak_rss_ratio_vs_best_peer`:
 *   the worst size's (lowest speed ratio, highest memory ratio);
 * - Keras' lines as before: `train_img_per_s_ratio_vs_keras` at 128 px (the
 *   first size when 128 px did not run) and `train_peak_rss_ratio_vs_keras` at
 *   the last size.
 */
export function ratioLines(summary: SizeSummary[]): string[] {
  const lines: string[] = [];
  const f = (x: number) => x.toFixed(3);
  const speeds: number[] = [];
  const mems: number[] = [];
  for (const s of summary) {
    if (s.speedRatio !== null) {
      speeds.push(s.speedRatio);
      lines.push(`train_img_per_s_ratio_vs_best_peer_${s.size}px: ${f(s.speedRatio)}`);
    }
    if (s.memoryRatio !== null) {
      mems.push(s.memoryRatio);
      lines.push(`train_peak_rss_ratio_vs_best_peer_${s.size}px: ${f(s.memoryRatio)}`);
    }
  }
  if (speeds.length) lines.push(`train_img_per_s_ratio_vs_best_peer: ${f(Math.min(...speeds))}`);
  if (mems.length) lines.push(`train_peak_rss_ratio_vs_best_peer: ${f(Math.max(...mems))}`);
  const k = (s: SizeSummary | undefined) => s?.sides.ours && s.sides.keras ? s : undefined;
  const speedAt = k(summary.find((s) => s.size === 128)) ?? k(summary[0]);
  const memAt = k(summary[summary.length - 1]);
  if (speedAt) {
    const { ours, keras } = speedAt.sides;
    lines.push(`train_img_per_s_ratio_vs_keras: ${f(ours!.imgPerS / keras!.imgPerS)}`);
  }
  if (memAt) {
    const { ours, keras } = memAt.sides;
    lines.push(`train_peak_rss_ratio_vs_keras: ${f(ours!.peakRssBytes / keras!.peakRssBytes)}`);
  }
  return lines;
}
