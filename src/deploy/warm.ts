import { errors } from '../errors.js';
import { allocateTensorData, elementCount, type InferRequest, type Signature, type Tensor } from '../protocol/index.js';
import type { LoadedModel } from '../runtime/index.js';

/** One request per input of the signature: dynamic dimensions 1, zeros (empty strings for BYTES). */
export function syntheticRequest(signature: Signature): InferRequest {
  const inputs: Tensor[] = signature.inputs.map((spec) => {
    const shape = spec.shape.map((d) => (d < 0 ? 1 : d));
    return { name: spec.name, datatype: spec.datatype, shape, data: allocateTensorData(spec.datatype, elementCount(shape)) };
  });
  return { inputs };
}

/**
 * Runs `count` real inferences on the candidate before it takes traffic: recent live requests first
 * (their shapes and values are what users send), synthetic ones built from the signature after.
 * A failure means the candidate is not healthy: INFERENCE with the reason.
 */
export async function warmUp(model: LoadedModel, recent: InferRequest[], count: number): Promise<{ runs: number; replayed: number; ms: number }> {
  const started = performance.now();
  const synthetic = syntheticRequest(model.signature);
  let replayed = 0;
  for (let i = 0; i < count; i++) {
    const request = recent[i] ?? synthetic;
    if (request !== synthetic) replayed++;
    try {
      await model.run(request.inputs, request.outputs?.map((o) => o.name));
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw errors.inference(`warm-up inference ${i + 1} of ${count} (${request === synthetic ? 'synthetic' : 'replayed live request'}) failed: ${why}`, e);
    }
  }
  return { runs: count, replayed, ms: Math.round(performance.now() - started) };
}
