/** Loading and running models: ONNX Runtime behind the ModelRuntime interface. */
import type { Signature } from '../protocol/types.js';
import { OnnxRuntime } from './onnx.js';

export {
  type BatchObserver,
  BatchingModel,
  type BatchingOptions,
  DEFAULT_BATCHING,
  DEFAULT_MAX_QUEUE_SIZE,
  isBatchable,
} from './batcher.js';
export { type CacheOptions, CachingModel, cacheKey } from './cache.js';
export { OnnxRuntime, type OnnxRuntimeOptions } from './onnx.js';
export { defaultWorkerCount, WorkerPoolRuntime, type WorkerPoolOptions } from './pool.js';
export { datatypeFromOrt, fromOrtTensor, ortTypeOf, toOrtTensor } from './tensors.js';
export { startThread, type ThreadEvents, type WorkerEntry, workerEntry } from './thread.js';
export type { LoadedModel, ModelRuntime } from './types.js';

/** Reads a model's signature (loading it, then releasing the session); INVALID_MODEL if ORT rejects it. */
export async function inspectOnnx(bytes: Uint8Array): Promise<Signature> {
  const model = await new OnnxRuntime().load(bytes);
  try {
    return model.signature;
  } finally {
    await model.dispose();
  }
}
