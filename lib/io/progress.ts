/**
 * What long loops (scanning image headers, generating the stand-in, training
 * epochs) report their progress to. The loops take a
 * {@linkcode ProgressReporter}; lib/display draws one (a bar on a terminal, a
 * line updated in place in a notebook), and installs it as the default
 * ({@linkcode setDefaultProgress}) when it is loaded, so notebooks and scripts
 * that import lib/display see bars without passing anything.
 *
 * @module
 */

/** A running progress display. */
export interface Progress {
  /** Sets the number of finished steps (0..total) and an optional status text. */
  update(current: number, text?: string): void;
  /** Draws the final state and releases the display; resolves once it is sent. */
  finish(text?: string): Promise<void>;
}

/**
 * Starts a progress display for `total` steps (> 0) labelled `title`.
 *
 * @example
 * ```ts
 * const report: ProgressReporter = (total, title) => ({
 *   update: (n) => console.log(`${title}: ${n}/${total}`),
 *   finish: () => Promise.resolve(),
 * });
 * ```
 */
export type ProgressReporter = (total: number, title: string) => Progress;

/** A reporter that shows nothing. */
export const silentProgress: ProgressReporter = () => ({
  update() {},
  finish: () => Promise.resolve(),
});

let current: ProgressReporter = silentProgress;

/**
 * The reporter used when a loop is given none: {@linkcode silentProgress}
 * until something installs another (lib/display installs its progress bar).
 */
export function defaultProgress(): ProgressReporter {
  return current;
}

/**
 * Installs the default reporter; returns the previous one (to put it back).
 *
 * @example
 * ```ts
 * const previous = setDefaultProgress(silentProgress); // quiet from here on
 * setDefaultProgress(previous);
 * ```
 */
export function setDefaultProgress(reporter: ProgressReporter): ProgressReporter {
  const previous = current;
  current = reporter;
  return previous;
}
