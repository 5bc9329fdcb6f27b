/**
 * Everything taken from the original Keras study this project reproduces, in
 * one place: the real dataset's class counts and label order, the study's
 * size sweep, its key figures per notebook, its per-epoch training logs and
 * its confusion matrix — all read from the repository's `reference/` folder
 * (see reference/README.md). Sits low (imports only lib/config): the
 * stand-in generator, the plots and the experiments all compare against it.
 *
 * @example
 * ```ts
 * import { ACMC_COUNTS, studyConfusion, studyRun, studyRuns } from "../lib/reference/mod.ts";
 * ACMC_COUNTS["Archie"]; // 1284
 * const scratch = studyRun(await studyRuns(), "tf-acmc-simple-orig.ipynb");
 * const { labels, matrix } = await studyConfusion();
 * ```
 *
 * @module
 */
export {
  ACMC_CLASSES,
  ACMC_COUNTS,
  ACMC_SPLIT,
  ACMC_TOTAL,
  REFERENCE_DIR,
  type ReferenceEntry,
  STUDY_SIZE_SWEEP,
  studySummary,
} from "./figures.ts";
export {
  type LabelledConfusion,
  parseConfusionCsv,
  readConfusionCsv,
  studyConfusion,
} from "./confusion_csv.ts";
export {
  parseStudyLogs,
  STUDY_LOGS_PATH,
  type StudyEpoch,
  type StudyRun,
  studyRun,
  studyRuns,
} from "./study_logs.ts";
