/**
 * Types shared by the training loop, its callbacks and checkpoints.
 * @module
 */
import type { tf } from "../engine/mod.ts";

/** Numbers logged at the end of an epoch or batch (`loss`, `accuracy`, `val_loss`, ...). */
export type Logs = Record<string, number>;

/**
 * What `fit` returns, like Keras' `History`: `epoch` holds the 0-based epoch
 * indices that ran, `history[name][i]` the value of `name` at `epoch[i]`
 * (`loss`, `accuracy`, `val_loss`, `val_accuracy`, and `seconds`, the wall
 * time of the epoch including validation). Plain data: `JSON.stringify` it.
 */
export interface History {
  /** 0-based indices of the epochs run (Keras' `history.epoch`). */
  epoch: number[];
  /** Per-epoch values by name. */
  history: Record<string, number[]>;
  /** How the fit was run. */
  params: {
    /** Last epoch (exclusive), as given to `fit`. */
    epochs: number;
    /** Batches per epoch. */
    steps: number;
    /** First epoch run by the first `fit` of this history. */
    initialEpoch: number;
    /** Training images per epoch. */
    samples: number;
    /**
     * How the last `fit` ran its steps: `"graph"` (the whole step as one
     * TensorFlow graph) or why it ran them eagerly (`"eager: <reason>"`).
     */
    execution?: string;
  };
}

/** The state of a running `fit`, handed to every callback hook. */
export interface TrainingContext {
  /** The model being trained. */
  model: tf.LayersModel;
  /** Its optimizer (state included in full checkpoints). */
  optimizer: tf.Optimizer;
  /** History so far, including the epoch that just ended in `onEpochEnd`. */
  history: History;
  /** Set to true to stop after the current epoch (Keras' `model.stop_training`). */
  stopTraining: boolean;
  /** Epochs (exclusive end) and batches per epoch. */
  params: { epochs: number; steps: number; initialEpoch: number };
}

/**
 * A training callback (Keras' `Callback`); every hook is optional and may be
 * async. `epoch` and `batch` are 0-based, as in Keras.
 */
export interface Callback {
  /** Once before the first epoch. */
  onTrainBegin?(ctx: TrainingContext): void | Promise<void>;
  /** Before each epoch. */
  onEpochBegin?(epoch: number, ctx: TrainingContext): void | Promise<void>;
  /** After each training batch, with the running epoch means so far. */
  onBatchEnd?(batch: number, logs: Logs, ctx: TrainingContext): void | Promise<void>;
  /** After each epoch (and its validation), with the epoch's logs. */
  onEpochEnd?(epoch: number, logs: Logs, ctx: TrainingContext): void | Promise<void>;
  /** Once after the last epoch (also after an early stop). */
  onTrainEnd?(ctx: TrainingContext): void | Promise<void>;
}
