/**
 * Keras' `LearningRateScheduler` callback (keras/src/callbacks/
 * learning_rate_scheduler.py): before each epoch the optimizer's learning
 * rate becomes `schedule(epoch, currentRate)`; the rate in use is logged as
 * `learning_rate` at the epoch's end.
 *
 * @module
 */
import type { Callback, Logs, TrainingContext } from "./types.ts";

/** Options of {@linkcode learningRateScheduler}. */
export interface LearningRateSchedulerOptions {
  /** `(epoch, lr) => newLr`: epoch 0-based, lr the optimizer's current rate. */
  schedule: (epoch: number, lr: number) => number;
  /** Print a line each time the rate is set (default false). */
  verbose?: boolean;
}

type WithRate = { learningRate: number };

/**
 * Sets the optimizer's learning rate before each epoch, as Keras'
 * `LearningRateScheduler(schedule)`, and records it in the logs and the
 * history as `learning_rate`. A schedule returning anything but a
 * finite number >= 0 is an error naming the epoch.
 *
 * @example
 * ```ts
 * // Halve Adam's rate after every epoch: 1e-3, 5e-4, 2.5e-4, ...
 * const halve = learningRateScheduler({ schedule: (epoch, lr) => (epoch === 0 ? lr : lr / 2) });
 * await fit(model, train, { epochs: 4, learningRate: 1e-3, callbacks: [halve] });
 * ```
 */
export function learningRateScheduler(options: LearningRateSchedulerOptions): Callback {
  let current = NaN;
  return {
    onEpochBegin(epoch: number, ctx: TrainingContext) {
      const opt = ctx.optimizer as unknown as WithRate;
      if (typeof opt.learningRate !== "number") {
        throw new Error("learningRateScheduler: the optimizer has no learning rate to set");
      }
      const lr = options.schedule(epoch, opt.learningRate);
      if (typeof lr !== "number" || !Number.isFinite(lr) || lr < 0) {
        throw new Error(
          `learningRateScheduler: the schedule returned ${lr} at epoch ${epoch}; ` +
            "expected a finite number >= 0",
        );
      }
      opt.learningRate = lr;
      current = lr;
      if (options.verbose) {
        console.log(`Epoch ${epoch + 1}: LearningRateScheduler setting learning rate to ${lr}.`);
      }
    },
    onEpochEnd(_epoch: number, logs: Logs, ctx: TrainingContext) {
      // Keras' History runs after the other callbacks and so records the rate too.
      logs.learning_rate = current;
      (ctx.history.history.learning_rate ??= []).push(current);
    },
  };
}

/**
 * The schedule `lr0 * factor ** epoch` (step decay once per epoch), for
 * {@linkcode learningRateScheduler}; `factor` 1 keeps the rate constant.
 */
export function epochDecay(lr0: number, factor: number): (epoch: number) => number {
  if (!(lr0 > 0) || !(factor > 0 && factor <= 1)) {
    throw new RangeError(`epochDecay: needs lr0 > 0 and 0 < factor <= 1, got ${lr0}, ${factor}`);
  }
  return (epoch) => lr0 * factor ** epoch;
}

/**
 * The callbacks of a per-epoch decay of `learningRate` by `factor`: none
 * when `factor` is 1 (a constant rate, as the study), else one
 * {@linkcode learningRateScheduler} of {@linkcode epochDecay}.
 */
export function decaySchedule(learningRate: number, factor = 1): Callback[] {
  if (factor === 1) return [];
  return [learningRateScheduler({ schedule: epochDecay(learningRate, factor) })];
}
