/** Batch inference over files (CSV, JSONL, Parquet), from the CLI and as an HTTP job API. */
export { formatOf, type FileFormat } from './formats.js';
export { type InputPlan, type OutputColumn, planInputs } from './mapping.js';
export {
  BatchInterrupted,
  type BatchOptions,
  type BatchProgress,
  type BatchResult,
  DEFAULT_BATCH_SIZE,
  type PreparedBatch,
  prepareBatch,
  runBatch,
} from './run.js';
export { type BatchJob, BatchJobs, type JobStatus } from './jobs.js';
export { type BatchJobsPluginOptions, batchJobsPlugin } from './http.js';
