/** Checks a decoded request against a model's signature, before it reaches the runtime. */
import { errors } from '../errors.js';
import { formatShape } from './datatypes.js';
import type { InferRequest, Signature, Tensor, TensorSpec } from './types.js';

function names(specs: readonly TensorSpec[]): string {
  return specs.length === 0 ? 'none' : specs.map((s) => s.name).join(', ');
}

/** True when `shape` fits `spec` (same rank; every dimension equal unless the spec says -1). */
export function shapeMatches(spec: readonly number[], shape: readonly number[]): boolean {
  if (spec.length !== shape.length) return false;
  for (let d = 0; d < spec.length; d++) {
    const want = spec[d]!;
    if (want !== -1 && want !== shape[d]) return false;
  }
  return true;
}

/**
 * Checks the request's inputs and requested outputs against `signature`; `modelLabel` (e.g.
 * `weather:1`) names the model in messages. Returns the inputs in signature order.
 */
export function validateInputs(request: InferRequest, signature: Signature, modelLabel: string): Tensor[] {
  const inputs = request.inputs;
  const specs = signature.inputs;

  for (let i = 0; i < inputs.length; i++) {
    const name = inputs[i]!.name;
    if (!specs.some((s) => s.name === name)) {
      throw errors.badRequest(
        `input '${name}' is not an input of model ${modelLabel} (expected inputs: ${names(specs)})`,
        `inputs[${i}].name`,
      );
    }
  }

  const ordered: Tensor[] = [];
  for (const spec of specs) {
    const tensor = inputs.find((t) => t.name === spec.name);
    if (tensor === undefined) {
      throw errors.badRequest(`model ${modelLabel} needs input '${spec.name}', which the request lacks (expected inputs: ${names(specs)})`, 'inputs');
    }
    const field = `inputs[${inputs.indexOf(tensor)}]`;
    if (tensor.datatype !== spec.datatype) {
      throw errors.datatype(`input '${spec.name}': expected datatype ${spec.datatype}, got ${tensor.datatype}`, `${field}.datatype`);
    }
    if (!shapeMatches(spec.shape, tensor.shape)) {
      throw errors.shape(`input '${spec.name}': expected shape ${formatShape(spec.shape)}, got ${formatShape(tensor.shape)}`, `${field}.shape`);
    }
    ordered.push(tensor);
  }

  const outputs = request.outputs;
  if (outputs !== undefined) {
    for (let i = 0; i < outputs.length; i++) {
      const name = outputs[i]!.name;
      if (!signature.outputs.some((s) => s.name === name)) {
        throw errors.badRequest(
          `requested output '${name}' is not an output of model ${modelLabel} (outputs: ${names(signature.outputs)})`,
          `outputs[${i}].name`,
        );
      }
    }
  }
  return ordered;
}
