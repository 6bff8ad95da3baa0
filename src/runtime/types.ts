import type { Signature, Tensor } from '../protocol/types.js';

/** A model held in memory, ready to run. */
export interface LoadedModel {
  readonly signature: Signature;
  /**
   * Runs the model. Inputs have already been validated against the signature; `outputs` names the
   * outputs to compute (all when undefined). Output tensors come back in signature order.
   */
  run(inputs: Tensor[], outputs?: string[]): Promise<Tensor[]>;
  dispose(): Promise<void>;
  /** How many runs can make progress at once (a worker pool's size); 1 when absent. */
  readonly concurrency?: number;
}

/** An inference engine (ONNX Runtime today). */
export interface ModelRuntime {
  /** Loads a model from its bytes; throws INVALID_MODEL with the engine's reason if it cannot. */
  load(bytes: Uint8Array): Promise<LoadedModel>;
}
