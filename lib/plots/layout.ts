/**
 * Chart layout arithmetic shared by every chart: how much room a column of
 * text labels needs.
 *
 * @module
 */

/** Options of {@linkcode labelMargin}. */
export interface LabelMarginOptions {
  /** Pixels per character (default 6.5: Plot's 10-11 px sans-serif labels). */
  perChar?: number;
  /** Pixels added for the ticks and the gap (default 16). */
  pad?: number;
  /** The least margin returned (default 0). */
  min?: number;
}

/**
 * Room in whole pixels for the longest of `labels` (e.g. class names on an
 * axis): `pad + perChar * longest`, rounded up, at least `min`.
 *
 * @example
 * ```ts
 * plot({ marginLeft: labelMargin(classNames), marks: [...] });
 * labelMargin(["Archie", "Harry Clayton"]); // 101 (13 characters)
 * ```
 */
export function labelMargin(labels: Iterable<string>, options: LabelMarginOptions = {}): number {
  const { perChar = 6.5, pad = 16, min = 0 } = options;
  let longest = 0;
  for (const label of labels) longest = Math.max(longest, label.length);
  return Math.max(min, Math.ceil(pad + longest * perChar));
}
