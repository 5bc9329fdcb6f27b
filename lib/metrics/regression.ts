/**
 * Ordinary least squares with a bootstrap confidence band, as seaborn's
 * `regplot` draws it, with a seeded random generator so a notebook's band is
 * the same on every run.
 * @module
 */

import { seededRandom } from "../random/mod.ts";

/** A fitted line `y = intercept + slope * x`. */
export interface LineFit {
  intercept: number;
  slope: number;
  /** Pearson correlation of x and y (NaN when either is constant). */
  r: number;
  /** Coefficient of determination `r^2`. */
  r2: number;
  /** Number of points. */
  n: number;
}

/**
 * Least-squares line through the points, the minimum-norm solution of
 * `[1 x] b = y` (numpy's `pinv`, as seaborn uses): when all x are equal the
 * fit is `b = mean(y) * [1, x0] / (1 + x0^2)` rather than an error.
 */
export function olsFit(x: readonly number[], y: readonly number[]): LineFit {
  if (x.length !== y.length) {
    throw new RangeError(`olsFit: x has ${x.length} points but y has ${y.length}`);
  }
  const n = x.length;
  if (n === 0) throw new RangeError("olsFit: no points");
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) {
      throw new RangeError(`olsFit: point ${i} (${x[i]}, ${y[i]}) is not finite`);
    }
  }
  const { intercept, slope } = solve(x, y, Array.from({ length: n }, (_, i) => i));
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  const r = sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
  return { intercept, slope, r, r2: r * r, n };
}

/** Options of {@linkcode regressionBand}, named as seaborn's `regplot`. */
export interface RegressionBandOptions {
  /** Bootstrap resamples (default 1000). */
  nBoot?: number;
  /** Confidence level in percent (default 95). */
  ci?: number;
  /** Points on the grid over the x range (default 100). */
  gridSize?: number;
  /** Seed of the resampling (default 0). */
  seed?: number;
  /** Fit `y ~ log(x)` instead of `y ~ x` (seaborn's `logx`); x must be > 0. */
  logx?: boolean;
}

/** A regression line and its bootstrap band over a grid. */
export interface RegressionBand {
  /** The fit on all points (on `log(x)` when `logx`). */
  fit: LineFit;
  /** Grid of x values, evenly spaced from min(x) to max(x). */
  grid: number[];
  /** The fitted line on the grid. */
  yhat: number[];
  /** Lower percentile of the bootstrapped lines at each grid point. */
  lower: number[];
  /** Upper percentile of the bootstrapped lines at each grid point. */
  upper: number[];
  /**
   * The slope's bootstrap interval `[lower, upper]`: the same percentiles of
   * the slopes refitted on the same resamples as the band (on `log(x)` when
   * `logx`). An interval above 0 says y rises with x at the `ci` level.
   */
  slopeInterval: [number, number];
  /** The options used (defaults filled in). */
  options: Required<RegressionBandOptions>;
}

/**
 * OLS line and bootstrap confidence band with seaborn `regplot` semantics:
 * the line is fitted on a grid of `gridSize` x values from min(x) to max(x);
 * `nBoot` times the (x, y) pairs are resampled with replacement and refitted;
 * the band is the `(100-ci)/2` and `(100+ci)/2` percentiles (numpy's linear
 * interpolation) of the refitted lines at each grid point.
 *
 * @example
 * ```ts
 * const band = regressionBand(classSizes, tprs, { seed: 1 });
 * band.fit.slope; band.lower[0]; band.upper[0];
 * ```
 */
export function regressionBand(
  x: readonly number[],
  y: readonly number[],
  options: RegressionBandOptions = {},
): RegressionBand {
  const opts: Required<RegressionBandOptions> = {
    nBoot: options.nBoot ?? 1000,
    ci: options.ci ?? 95,
    gridSize: options.gridSize ?? 100,
    seed: options.seed ?? 0,
    logx: options.logx ?? false,
  };
  if (!Number.isInteger(opts.nBoot) || opts.nBoot < 1) {
    throw new RangeError(`regressionBand: nBoot must be a positive integer, got ${opts.nBoot}`);
  }
  if (!(opts.ci > 0 && opts.ci < 100)) {
    throw new RangeError(`regressionBand: ci must be in (0, 100), got ${opts.ci}`);
  }
  if (!Number.isInteger(opts.gridSize) || opts.gridSize < 2) {
    throw new RangeError(`regressionBand: gridSize must be an integer >= 2, got ${opts.gridSize}`);
  }
  if (opts.logx && x.some((v) => !(v > 0))) {
    throw new RangeError("regressionBand: logx needs every x > 0");
  }
  const xs = opts.logx ? x.map(Math.log) : [...x];
  const fit = olsFit(xs, y);
  const n = x.length;
  const lo = Math.min(...x), hi = Math.max(...x);
  const grid = Array.from(
    { length: opts.gridSize },
    (_, i) => lo + (hi - lo) * i / (opts.gridSize - 1),
  );
  const gx = opts.logx ? grid.map(Math.log) : grid;
  const yhat = gx.map((g) => fit.intercept + fit.slope * g);
  const rand = seededRandom(opts.seed);
  const boots = gx.map(() => new Float64Array(opts.nBoot));
  const slopes = new Float64Array(opts.nBoot);
  const idx = new Array<number>(n);
  for (let b = 0; b < opts.nBoot; b++) {
    for (let i = 0; i < n; i++) idx[i] = Math.floor(rand() * n);
    const { intercept, slope } = solve(xs, y, idx);
    slopes[b] = slope;
    for (let g = 0; g < gx.length; g++) boots[g][b] = intercept + slope * gx[g];
  }
  const lower: number[] = [], upper: number[] = [];
  for (const col of boots) {
    col.sort();
    lower.push(percentile(col, 50 - opts.ci / 2));
    upper.push(percentile(col, 50 + opts.ci / 2));
  }
  slopes.sort();
  const slopeInterval: [number, number] = [
    percentile(slopes, 50 - opts.ci / 2),
    percentile(slopes, 50 + opts.ci / 2),
  ];
  return { fit, grid, yhat, lower, upper, slopeInterval, options: opts };
}

/** numpy's default ("linear") percentile of sorted values, `q` in percent. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError("percentile: no values");
  const pos = (q / 100) * (n - 1);
  const i = Math.floor(pos);
  const f = pos - i;
  return i + 1 < n ? sorted[i] + f * (sorted[i + 1] - sorted[i]) : sorted[n - 1];
}

/** Minimum-norm least squares of `[1 x] b = y` over the points `idx`. */
function solve(x: readonly number[], y: readonly number[], idx: readonly number[]) {
  const m = idx.length;
  let mx = 0, my = 0;
  for (const i of idx) (mx += x[i], my += y[i]);
  mx /= m;
  my /= m;
  let sxx = 0, sxy = 0;
  for (const i of idx) {
    sxx += (x[i] - mx) ** 2;
    sxy += (x[i] - mx) * (y[i] - my);
  }
  // Relative test: a column of identical x values (a degenerate resample).
  const scale = Math.max(1, mx * mx);
  if (sxx <= 1e-12 * scale * m) {
    const x0 = mx;
    const c = my / (1 + x0 * x0);
    return { intercept: c, slope: c * x0 };
  }
  const slope = sxy / sxx;
  return { intercept: my - slope * mx, slope };
}
