/** ONNX model writing: a hand-rolled protobuf encoder for ModelProto, plus half-float helpers. */
export type { AttrValue, InitTensor, ModelSpec, NodeSpec, OnnxElemType, ValueInfo } from './builder.js';
export { buildModel, onnxElemTypeCode } from './builder.js';
export { float16BitsToFloat32, float32ToFloat16Bits } from './half.js';
export { ProtoWriter } from './protobuf.js';
