/**
 * The notebooks' training settings as named profiles: `"study"`, the original
 * study's own settings (the default on the real dataset), and `"standin"`,
 * settings that reproduce the study's findings on the generated stand-in
 * within about 20 minutes on two CPU cores (the default there). A notebook
 * reads `param("profile", ...)`, then takes each default from the profile,
 * and prints {@linkcode departures} in one line.
 *
 * @example
 * ```ts
 * const p = trainingProfile("standin");
 * console.log(departures(p)); // "stand-in profile, departs from the study: 40 px (study 256), ..."
 * ```
 * @module
 */

import { STRATEGIES } from "./imbalance.ts";

/** One profile's settings. */
export interface TrainingProfile {
  /** `"study"` or `"standin"`. */
  name: ProfileName;
  /** Square image size of notebook 02's runs (and 04's fallback run), px. */
  imageSize: number;
  /** Image sizes of notebook 03's sweep, px, small to large (the middle one is notebook 02's). */
  sizes: number[];
  /** Image size of notebook 05's strategies (its baseline is notebook 02's run at that size). */
  imbalanceSize: number;
  /**
   * Notebook 05's strategies, the baseline first ("logit adjustment" trains
   * nothing: it corrects the baseline's predictions for the training prior).
   */
  strategies: string[];
  /** Epochs at most (EarlyStopping may end sooner). */
  epochs: number;
  /** Images per batch. */
  batchSize: number;
  /** Adam's learning rate (of the first epoch). */
  learningRate: number;
  /** The rate's factor per epoch (Keras' LearningRateScheduler; 1 = constant, as the study). */
  learningRateDecay: number;
  /** ResNet50's BatchNormalization momentum (Keras' default 0.99). */
  batchNormMomentum: number;
  /** EarlyStopping patience on val_accuracy. */
  patience: number;
  /** Split and shuffling seed, initial weights. */
  seed: number;
  /** Held-out fraction. */
  validationSplit: number;
  /** Training images used (0 = all) and validation images scored (0 = all). */
  maxTrain: number;
  maxVal: number;
}

/** The profile names. */
export type ProfileName = "study" | "standin";

/** The original study's settings (reference/README.md). */
export const STUDY_PROFILE: Readonly<TrainingProfile> = Object.freeze({
  name: "study",
  imageSize: 256,
  sizes: [128, 256, 512],
  imbalanceSize: 256,
  strategies: [...STRATEGIES], // all of notebook 05's
  epochs: 20,
  batchSize: 8,
  learningRate: 1e-4,
  learningRateDecay: 1,
  batchNormMomentum: 0.99,
  patience: 5,
  seed: 123,
  validationSplit: 0.2,
  maxTrain: 0,
  maxVal: 0,
});

/**
 * Settings that reproduce the study's four findings on the stand-in within
 * the CPU budget (measured, see README.md): small images, few epochs, larger
 * batches with a 10x learning rate (fewer, cheaper steps) halved after each
 * epoch (at a constant 1e-3 the 4th epoch collapsed: 32 px val_accuracy 0.51
 * -> 0.38), and batch-norm statistics that follow a short training (momentum
 * 0.9: with Keras' 0.99, validation loss stayed ~10 after three epochs while
 * training accuracy rose).
 */
export const STANDIN_PROFILE: Readonly<TrainingProfile> = Object.freeze({
  name: "standin",
  imageSize: 40,
  sizes: [32, 40, 48],
  imbalanceSize: 40,
  strategies: ["baseline", "oversample", "logit adjustment"],
  epochs: 3,
  batchSize: 32,
  learningRate: 1e-3,
  learningRateDecay: 0.5,
  batchNormMomentum: 0.9,
  patience: 5,
  seed: 123,
  validationSplit: 0.2,
  maxTrain: 0,
  maxVal: 0,
});

/** The profile named `name` (a copy); an unknown name is an error naming the choices. */
export function trainingProfile(name: string): TrainingProfile {
  const copy = (p: Readonly<TrainingProfile>) => ({
    ...p,
    sizes: [...p.sizes],
    strategies: [...p.strategies],
  });
  if (name === "study") return copy(STUDY_PROFILE);
  if (name === "standin") return copy(STANDIN_PROFILE);
  throw new RangeError(`unknown profile "${name}": use "study" or "standin"`);
}

const LABELS: [keyof TrainingProfile, (v: unknown) => string][] = [
  ["imageSize", (v) => `${v} px`],
  ["sizes", (v) => `sizes ${(v as number[]).join("/")} px`],
  ["imbalanceSize", (v) => `imbalance runs at ${v} px`],
  ["strategies", (v) => `strategies ${(v as string[]).join(", ")}`],
  ["epochs", (v) => `${v} epochs`],
  ["batchSize", (v) => `batch ${v}`],
  ["learningRate", (v) => `Adam ${v}`],
  ["learningRateDecay", (v) => (v === 1 ? "a constant rate" : `the rate x${v} each epoch`)],
  ["batchNormMomentum", (v) => `batch-norm momentum ${v}`],
  ["patience", (v) => `patience ${v}`],
  ["seed", (v) => `seed ${v}`],
  ["validationSplit", (v) => `split ${v}`],
  ["maxTrain", (v) => (v ? `${v} training images` : "all training images")],
  ["maxVal", (v) => (v ? `${v} validation images` : "all validation images")],
];

/**
 * One line saying how `settings` depart from the study's, for the keys given
 * (default all): "stand-in profile, departs from the study: 40 px (study
 * 256), batch 32 (study 8), ..."; or "...: the study's own settings" when none do.
 */
export function departures(
  settings: Partial<TrainingProfile>,
  keys: (keyof TrainingProfile)[] = LABELS.map(([k]) => k),
): string {
  const diffs: string[] = [];
  for (const [k, label] of LABELS) {
    if (!keys.includes(k) || settings[k] === undefined) continue;
    if (JSON.stringify(settings[k]) !== JSON.stringify(STUDY_PROFILE[k])) {
      diffs.push(`${label(settings[k])} (study: ${label(STUDY_PROFILE[k])})`);
    }
  }
  const who = settings.name === "standin"
    ? "stand-in profile"
    : settings.name === "study"
    ? "study profile"
    : "these settings";
  return diffs.length === 0
    ? `${who}: the study's own settings`
    : `${who}, departs from the study: ${diffs.join(", ")}`;
}
