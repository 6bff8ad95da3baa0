import { DATATYPES, type Datatype, type TensorData } from './types.js';

/** How a datatype's elements behave on the wire and in memory. */
export type DatatypeKind = 'bool' | 'int' | 'uint' | 'float' | 'bytes';

/** The typed array constructors `Tensor.data` is built from (BYTES uses a plain string[]). */
export type TypedArrayConstructor =
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Uint16ArrayConstructor
  | Int16ArrayConstructor
  | Uint32ArrayConstructor
  | Int32ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

/** Inclusive range of an integer datatype: numbers up to 32 bits, bigints for 64 bits. */
export type IntegerRange = { min: number; max: number } | { min: bigint; max: bigint };

export interface DatatypeInfo {
  readonly datatype: Datatype;
  readonly kind: DatatypeKind;
  /** Bytes per element in raw (binary) form; null for BYTES, whose elements vary in length. */
  readonly byteSize: number | null;
  /** Storage for `Tensor.data`; null for BYTES (string[]). BOOL is stored as 0/1 bytes. */
  readonly arrayType: TypedArrayConstructor | null;
  /** Values an integer datatype accepts; null for BOOL, floats and BYTES. */
  readonly range: IntegerRange | null;
}

const info = (
  datatype: Datatype,
  kind: DatatypeKind,
  byteSize: number | null,
  arrayType: TypedArrayConstructor | null,
  range: IntegerRange | null = null,
): DatatypeInfo => Object.freeze({ datatype, kind, byteSize, arrayType, range });

/** One row per V2 datatype: size, storage and range. */
export const DATATYPE_INFO: Readonly<Record<Datatype, DatatypeInfo>> = Object.freeze({
  BOOL: info('BOOL', 'bool', 1, Uint8Array),
  UINT8: info('UINT8', 'uint', 1, Uint8Array, { min: 0, max: 0xff }),
  UINT16: info('UINT16', 'uint', 2, Uint16Array, { min: 0, max: 0xffff }),
  UINT32: info('UINT32', 'uint', 4, Uint32Array, { min: 0, max: 0xffff_ffff }),
  UINT64: info('UINT64', 'uint', 8, BigUint64Array, { min: 0n, max: 0xffff_ffff_ffff_ffffn }),
  INT8: info('INT8', 'int', 1, Int8Array, { min: -0x80, max: 0x7f }),
  INT16: info('INT16', 'int', 2, Int16Array, { min: -0x8000, max: 0x7fff }),
  INT32: info('INT32', 'int', 4, Int32Array, { min: -0x8000_0000, max: 0x7fff_ffff }),
  INT64: info('INT64', 'int', 8, BigInt64Array, {
    min: -0x8000_0000_0000_0000n,
    max: 0x7fff_ffff_ffff_ffffn,
  }),
  FP16: info('FP16', 'float', 2, Uint16Array),
  FP32: info('FP32', 'float', 4, Float32Array),
  FP64: info('FP64', 'float', 8, Float64Array),
  BYTES: info('BYTES', 'bytes', null, null),
});

const DATATYPE_SET: ReadonlySet<string> = new Set<string>(DATATYPES);

/** True when `s` is one of the V2 datatype names (case-sensitive, as the protocol spells them). */
export function isDatatype(s: unknown): s is Datatype {
  return typeof s === 'string' && DATATYPE_SET.has(s);
}

/** Zero-filled storage of `length` elements for `datatype` (BYTES: an array of empty strings). */
export function allocateTensorData(datatype: Datatype, length: number): TensorData {
  const ctor = DATATYPE_INFO[datatype].arrayType;
  return ctor === null ? new Array<string>(length).fill('') : new ctor(length);
}

/** True when `data` is the storage `Tensor.data` uses for `datatype` (see types.ts). */
export function isStorageFor(datatype: Datatype, data: TensorData): boolean {
  const ctor = DATATYPE_INFO[datatype].arrayType;
  return ctor === null ? Array.isArray(data) : data instanceof ctor;
}

/** Number of elements a shape holds (1 for a scalar shape `[]`). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i]!;
  return n;
}

/** `[2,3]`: how messages print shapes (no spaces, like the protocol's JSON). */
export function formatShape(shape: readonly unknown[]): string {
  return `[${shape.join(',')}]`;
}
