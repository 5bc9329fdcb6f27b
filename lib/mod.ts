/**
 * The public surface of the ACMC library: what the notebooks and their users
 * need, one import, grouped by concept below. Notebooks import only this file
 * (`import { fit, resnet50 } from "../lib/mod.ts"` or
 * `import * as acmc from "../lib/mod.ts"`).
 *
 * ```ts
 * import * as acmc from "./mod.ts";
 * await acmc.initEngine();
 * const { train, valid } = await acmc.studyData(acmc.datasetDir().dir, { imageSize: 64 });
 * const run = await acmc.trainFromScratch({
 *   train, valid, epochs: 3, checkpointDir: acmc.outDir("checkpoints", "scratch"),
 * });
 * console.log(run.bestEpoch, run.after?.accuracy);
 * ```
 *
 * ## Layers
 *
 * Each folder of `lib/` is one concept with its own `mod.ts` (the wider API
 * the tools and tests use). Imports run one way, from the top of this list
 * to the bottom and never back (`tests/project_layers_test.ts` checks it):
 *
 * 1. `config` (where things live), `random` (seeded generators), `io`
 *    (atomic write, folder walk, progress reporters), `reference` (the
 *    original study's figures);
 * 2. `engine`: TensorFlow (tfjs on the native library) and its fast kernels;
 * 3. `data` (Keras' `image_dataset_from_directory`, balance, augmentation)
 *    and `synth` (the generated stand-in dataset);
 * 4. `models` (ResNet50, the transfer head, Keras weights) and `budget`
 *    (training memory estimates);
 * 5. `train`: `fit` / `evaluate` / `predict`, callbacks, checkpoints and the
 *    one training recipe, `trainAndEvaluate`;
 * 6. `metrics`: confusion matrices and scores, checked against scikit-learn;
 * 7. `plots`: the study's charts (Observable Plot);
 * 8. `display`: charts and tables shown in Jupyter, or saved;
 * 9. `experiments`: the study's comparisons across runs;
 * 10. `jupyter`: notebook parameters and results, the headless runner, the
 *     study report.
 *
 * Progress reaches the lower layers as an injected reporter (lib/io), so no
 * lower layer imports `display`.
 *
 * @module
 */

// --- config: where things live ---------------------------------------------
export { type DatasetChoice, datasetDir, outDir } from "./config/mod.ts";

// --- random and io ------------------------------------------------------------
export { seededRandom } from "./random/mod.ts";
export {
  escapeXml,
  type ProgressReporter,
  setDefaultProgress,
  silentProgress,
  writeFileAtomic,
} from "./io/mod.ts";

// --- engine: TensorFlow -------------------------------------------------------
export {
  describeEngine,
  type EngineChoice,
  type EngineInfo,
  engineInfo,
  type EngineOptions,
  initEngine,
  tf,
} from "./engine/mod.ts";

// --- data: loading, balance, augmentation, dataset statistics ----------------
export {
  augmentation,
  augmentImages,
  type AugmentOptions,
  type Batch,
  type BatchDataset,
  type CacheMode,
  type ClassWeightMethod,
  classWeights,
  countImagesByClass,
  datasetFingerprint,
  datasetFromFiles,
  dictSizesStats,
  ImageDataset,
  imageDatasetFromDirectory,
  type ImageDatasetOptions,
  imageSizes,
  labelCounts,
  type LabelMode,
  type LoadOptions,
  oversample,
  sampleImages,
  type SizeStats,
  sizeStats,
  type SkippedFile,
  undersample,
} from "./data/mod.ts";

// --- synth: the embedded stand-in dataset -------------------------------------
export {
  ensureDataset,
  type EnsuredDataset,
  type EnsureOptions,
  generateStandIn,
  type SynthOptions,
} from "./synth/mod.ts";

// --- models: ResNet50 and the transfer head -----------------------------------
export {
  imagenetWeightsPath,
  KERAS_RESNET_WEIGHTS_URL,
  loadKerasWeights,
  type LoadWeightsOptions,
  preprocessInput,
  resnet50,
  type ResNet50Options,
  resnet50WeightsFileName,
  saveKerasWeights,
  saveTfjsModel,
  transferModel,
  type TransferModelOptions,
  WEIGHTS_DIR,
} from "./models/mod.ts";

// --- budget: will a training run fit in memory? -------------------------------
export {
  type AvailableMemory,
  availableMemory,
  CALIBRATION,
  checkFits,
  estimateTrainingMemory,
  type FitCheck,
  formatBytes,
  type MemoryEstimate,
  sampleMemory,
} from "./budget/mod.ts";

// --- train: fit, callbacks, checkpoints, the training recipe ------------------
export {
  bestOf,
  type Callback,
  type Classification,
  classifyImage,
  type ClassifyImageOptions,
  type ClassWeight,
  decaySchedule,
  earlyStopping,
  type EarlyStoppingOptions,
  epochDecay,
  estimateTrainingTime,
  evaluate,
  type EvaluateResult,
  fit,
  type FitOptions,
  type History,
  learningRateScheduler,
  loadCheckpoint,
  logitAdjusted,
  type LogitAdjustmentOptions,
  type Logs,
  modelCheckpoint,
  type ModelCheckpointOptions,
  predict,
  type Predictions,
  readPredictions,
  saveCheckpoint,
  type SavedPredictions,
  savePredictions,
  type TimeEstimate,
  trainAndEvaluate,
  type TrainRunOptions,
  type TrainRunResult,
  withSeed,
  writePredictions,
} from "./train/mod.ts";

// --- reference: the original study's figures ----------------------------------
export {
  ACMC_CLASSES,
  ACMC_COUNTS,
  readConfusionCsv,
  STUDY_SIZE_SWEEP,
  type StudyRun,
  studyRun,
  studyRuns,
} from "./reference/mod.ts";

// --- metrics: scores of predictions --------------------------------------------
export {
  accuracy,
  type AccuracyHistory,
  balancedAccuracy,
  type ClassificationReport,
  classificationReport,
  type ClassScores,
  classSizeFinding,
  classSizeStats,
  confusionMatrix,
  describeClassSize,
  type Finding,
  findingRows,
  findingText,
  imageSizeFinding,
  imbalanceFinding,
  macroF1,
  type Matrix,
  matthewsCorrcoef,
  type MetricsSummary,
  normalizeConfusion,
  perClassScores,
  type RegressionBand,
  regressionBand,
  scratchFinding,
  studyHistory,
  summarizeConfusion,
  type SweepPoint,
  type WorstPrediction,
  worstPredictions,
} from "./metrics/mod.ts";

// --- plots: the study's charts ----------------------------------------------------
export {
  augmentationGrid,
  classDistributionChart,
  confusionHeatmap,
  type Figure,
  imageGrid,
  perClassBars,
  predictionGrid,
  progressiveCurves,
  sizeScatterChart,
  sizeSweepPlot,
  strategyScoresChart,
  tprComparisonChart,
  tprVsSizePlot,
  trainingCurves,
} from "./plots/mod.ts";

// --- display: charts and tables in the notebook -------------------------------
export {
  display,
  type DisplayOptions,
  displayTable,
  progressReporter,
  type TableColumn,
  type TableOptions,
} from "./display/mod.ts";

// --- experiments: the study's comparisons ----------------------------------------
export {
  adjustedStrategyResult,
  analyzePredictions,
  bestRun,
  bestStrategy,
  checkSize,
  departures,
  findSavedPredictions,
  findSharedRun,
  type FromScratchOptions,
  type FromScratchResult,
  headlineRows,
  imagenetTransfer,
  type ImagenetTransferOptions,
  type ImagenetTransferResult,
  type PerClassAnalysis,
  perClassTable,
  planRows,
  planStrategies,
  progressiveResizing,
  type ProgressiveResult,
  type RunSpec,
  runSpec,
  runStrategy,
  savePredictionsOf,
  scoreRows,
  type SharedRun,
  type SizeRun,
  sizeRunOf,
  sizeSweep,
  type StepCost,
  stepCostBySize,
  type StepCostOptions,
  STRATEGIES,
  strategyLine,
  type StrategyPlan,
  type StrategyResult,
  strategyResultOf,
  studyAnalysis,
  type StudyData,
  studyData,
  studySplit,
  takeBatches,
  trainForPredictions,
  trainFromScratch,
  type TrainingProfile,
  trainingProfile,
} from "./experiments/mod.ts";

// --- jupyter: notebook parameters and results ----------------------------------
export {
  findingsJson,
  findingsTableHtml,
  gatherFindings,
  loadResults,
  param,
  publishResults,
  saveResults,
  type SummaryRow,
} from "./jupyter/mod.ts";
