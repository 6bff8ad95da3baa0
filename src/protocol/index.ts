/** Open Inference Protocol v2: types, datatypes, the REST JSON codec and signature validation. */
export * from './types.js';
export {
  DATATYPE_INFO,
  allocateTensorData,
  elementCount,
  formatShape,
  isDatatype,
  isStorageFor,
  type DatatypeInfo,
  type DatatypeKind,
  type IntegerRange,
  type TypedArrayConstructor,
} from './datatypes.js';
export {
  DEFAULT_DECODE_LIMITS,
  decodeInferRequest,
  type DecodeLimits,
  type DecodeOptions,
} from './decode.js';
export { shapeMatches, validateInputs } from './validate.js';
export {
  encodeError,
  encodeInferResponse,
  encodeJson,
  encodeTensor,
  encodeTensorData,
} from './encode.js';
export { formatFloat16, formatFloat32, formatFloat64 } from './floats.js';
export { decodeRawTensor, encodeRawTensor, rawByteLength, type ExternalData, type RawTarget } from './raw.js';
