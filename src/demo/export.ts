import { errors } from '../errors.js';
import { buildModel, type ModelSpec } from '../onnx/index.js';
import { CLASSES, FEATURE_NAMES, LABEL_COLUMN } from './dataset.js';
import { MODEL_FEATURE_NAMES } from './model.js';
import type { SoftmaxModel } from './softmax.js';

const FLOAT = 1; // TensorProto.DataType.FLOAT, for Cast's `to`.

/**
 * The weather classifier as an ONNX graph:
 *
 *   features[batch,4] ─┬──────────────────────────────────────┐
 *                      └ Gather(col 0) ┬ Greater 0 ─ Cast ─ wet ┤
 *                                      └ Add 1 ─ Log ─ log1p ───┴ Concat → [batch,6]
 *   → Sub mean → Div std → MatMul W[6,5] → Add b → Softmax → probabilities[batch,5]
 *   → ArgMax(axis 1) → Gather(class names) → label[batch]
 *
 * ORT's CPU Gather accepts string data, so the label needs no ai.onnx.ml operator.
 */
export function weatherModelSpec(model: SoftmaxModel): ModelSpec {
  const d = MODEL_FEATURE_NAMES.length;
  const k = CLASSES.length;
  if (model.numFeatures !== d || model.numClasses !== k) {
    throw errors.invalidModel(`expected a ${d}-feature, ${k}-class model, got ${model.numFeatures} x ${model.numClasses}`);
  }
  return {
    graphName: 'seattle_weather',
    producer: 'berth-demo',
    opset: 17,
    inputs: [{ name: 'features', type: 'float32', shape: ['batch', FEATURE_NAMES.length] }],
    outputs: [
      { name: 'probabilities', type: 'float32', shape: ['batch', k] },
      { name: 'label', type: 'string', shape: ['batch'] },
    ],
    initializers: [
      { name: 'precipitation_column', type: 'int64', dims: [1], data: [0n] },
      { name: 'zero', type: 'float32', dims: [], data: [0] },
      { name: 'one', type: 'float32', dims: [], data: [1] },
      { name: 'mean', type: 'float32', dims: [d], data: model.mean },
      { name: 'std', type: 'float32', dims: [d], data: model.std },
      { name: 'weights', type: 'float32', dims: [d, k], data: model.weights },
      { name: 'bias', type: 'float32', dims: [k], data: model.bias },
      { name: 'class_names', type: 'string', dims: [k], data: [...CLASSES] },
    ],
    nodes: [
      { op: 'Gather', name: 'select_precipitation', inputs: ['features', 'precipitation_column'], outputs: ['precipitation'], attributes: { axis: { i: 1 } } },
      { op: 'Greater', name: 'is_wet', inputs: ['precipitation', 'zero'], outputs: ['wet_bool'] },
      { op: 'Cast', name: 'wet_to_float', inputs: ['wet_bool'], outputs: ['wet'], attributes: { to: { i: FLOAT } } },
      { op: 'Add', name: 'precipitation_plus_one', inputs: ['precipitation', 'one'], outputs: ['precipitation_plus_one'] },
      { op: 'Log', name: 'log1p_precipitation', inputs: ['precipitation_plus_one'], outputs: ['log1p_precipitation'] },
      { op: 'Concat', name: 'model_features', inputs: ['features', 'wet', 'log1p_precipitation'], outputs: ['model_features'], attributes: { axis: { i: 1 } } },
      { op: 'Sub', name: 'center', inputs: ['model_features', 'mean'], outputs: ['centered'] },
      { op: 'Div', name: 'scale', inputs: ['centered', 'std'], outputs: ['standardized'] },
      { op: 'MatMul', name: 'linear', inputs: ['standardized', 'weights'], outputs: ['scores'] },
      { op: 'Add', name: 'add_bias', inputs: ['scores', 'bias'], outputs: ['logits'] },
      { op: 'Softmax', name: 'softmax', inputs: ['logits'], outputs: ['probabilities'], attributes: { axis: { i: -1 } } },
      { op: 'ArgMax', name: 'argmax', inputs: ['probabilities'], outputs: ['class_index'], attributes: { axis: { i: 1 }, keepdims: { i: 0 } } },
      { op: 'Gather', name: 'class_name', inputs: ['class_names', 'class_index'], outputs: ['label'], attributes: { axis: { i: 0 } } },
    ],
    metadata: {
      feature_names: FEATURE_NAMES.join(','),
      classes: CLASSES.join(','),
      label_column: LABEL_COLUMN,
    },
  };
}

/** Serializes the weather classifier to ONNX bytes. */
export function exportWeatherModel(model: SoftmaxModel): Uint8Array {
  return buildModel(weatherModelSpec(model));
}
