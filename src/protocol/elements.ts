/**
 * JSON `data` -> typed storage, one converter per datatype. Each converter has a tight loop over a
 * flat run of scalars (the whole of flat data, or one innermost row of nested data) that accepts the
 * common case inline and sends anything else to a slow path, which either converts it (e.g. "NaN",
 * INT64 decimal strings) or throws the error that names the element.
 */
import { errors, type BerthError } from '../errors.js';
import { float32ToFloat16Bits } from '../onnx/index.js';
import { DATATYPE_INFO, formatShape } from './datatypes.js';
import type { Datatype, TensorData } from './types.js';

/** What a converter needs to name a bad element: the input, and where its data sits in the shape. */
export interface ElementContext {
  /** `inputs[0] ('x')` */
  readonly label: string;
  /** `inputs[0].data` */
  readonly field: string;
  readonly shape: readonly number[];
  /** Whether the data is nested (errors then give the element's path beside its flat index). */
  readonly nested: boolean;
  readonly maxStringBytes: number;
}

type FillRow<T> = (src: readonly unknown[], out: T, offset: number, ctx: ElementContext) => void;

/** Smallest magnitude that rounds to Infinity in float32 (2^128 - 2^103: halfway past FLT_MAX). */
const F32_OVERFLOW = 3.4028235677973366e38;

/** Strings a float element may use for the values JSON numbers cannot carry. */
const FLOAT_WORDS: ReadonlyMap<string, number> = new Map([
  ['NaN', Number.NaN],
  ['nan', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['inf', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['-inf', Number.NEGATIVE_INFINITY],
]);

const INT64_STRING = /^-?[0-9]{1,20}$/;

// ---- messages ----

/** Short printable form of an offending value (strings quoted and truncated). */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (v === undefined) return 'missing';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** Row-major indices of flat element `index` within `shape` (no zero dims), as `data[1][2]`. */
function pathOf(index: number, shape: readonly number[]): string {
  let rest = index;
  let s = '';
  for (let d = shape.length - 1; d >= 0; d--) {
    const dim = shape[d]!;
    s = `[${rest % dim}]${s}`;
    rest = Math.floor(rest / dim);
  }
  return `data${s}`;
}

function where(index: number, ctx: ElementContext): string {
  return ctx.nested ? `element ${index} (${pathOf(index, ctx.shape)})` : `element ${index}`;
}

function wrongType(v: unknown, expected: string, dt: Datatype, index: number, ctx: ElementContext): BerthError {
  if (Array.isArray(v)) {
    const rank = ctx.shape.length;
    const dims = `shape ${formatShape(ctx.shape)} has ${rank} dimension${rank === 1 ? '' : 's'}`;
    if (ctx.nested) return errors.shape(`${ctx.label}: ${pathOf(index, ctx.shape)} is an array, but ${dims}`, ctx.field);
    if (rank < 2) return errors.shape(`${ctx.label}: element ${index} is an array, but ${dims}`, ctx.field);
    return errors.shape(
      `${ctx.label}: data mixes arrays and scalars (element ${index} is an array); send it flat or nested exactly as ${formatShape(ctx.shape)}`,
      ctx.field,
    );
  }
  return errors.datatype(`${ctx.label}: ${where(index, ctx)} is ${describeValue(v)}, expected ${expected} for ${dt}`, ctx.field);
}

function outOfRange(v: unknown, dt: Datatype, index: number, ctx: ElementContext): BerthError {
  const range = DATATYPE_INFO[dt].range;
  const bounds = range === null ? '' : ` (${range.min} to ${range.max})`;
  return errors.datatype(`${ctx.label}: ${where(index, ctx)} (${String(v)}) is out of range for ${dt}${bounds}`, ctx.field);
}

// ---- slow paths: convert the unusual, or throw the precise error ----

function slowFloat(v: unknown, dt: Datatype, index: number, ctx: ElementContext): number {
  if (typeof v === 'number') {
    if (Number.isFinite(v)) throw outOfRange(v, dt, index, ctx); // only overflow reaches here
    return v;
  }
  if (typeof v === 'string') {
    const word = FLOAT_WORDS.get(v);
    if (word !== undefined) return word;
  }
  throw wrongType(v, 'a number (or "NaN", "Infinity", "-Infinity")', dt, index, ctx);
}

function slowInteger(v: unknown, dt: Datatype, index: number, ctx: ElementContext): never {
  if (typeof v !== 'number') throw wrongType(v, 'an integer', dt, index, ctx);
  if (!Number.isInteger(v)) {
    throw errors.datatype(`${ctx.label}: ${where(index, ctx)} (${v}) is not an integer (${dt})`, ctx.field);
  }
  throw outOfRange(v, dt, index, ctx);
}

/** INT64/UINT64 elements that are not safe-integer numbers: decimal strings, or errors. */
function slowBigInt(v: unknown, dt: 'INT64' | 'UINT64', index: number, ctx: ElementContext): bigint {
  const range = DATATYPE_INFO[dt].range!;
  if (typeof v === 'string') {
    if (!INT64_STRING.test(v)) throw wrongType(v, 'an integer or a decimal integer string', dt, index, ctx);
    const b = BigInt(v);
    if (b < range.min || b > range.max) throw outOfRange(v, dt, index, ctx);
    return b;
  }
  if (typeof v !== 'number') throw wrongType(v, 'an integer or a decimal integer string', dt, index, ctx);
  if (!Number.isInteger(v)) {
    throw errors.datatype(`${ctx.label}: ${where(index, ctx)} (${v}) is not an integer (${dt})`, ctx.field);
  }
  if (dt === 'UINT64' && v < 0) throw outOfRange(v, dt, index, ctx);
  throw errors.datatype(
    `${ctx.label}: ${where(index, ctx)} (${v}) is beyond 2^53 and may have lost precision as a JSON number; send ${dt} values that large as decimal strings`,
    ctx.field,
  );
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function checkString(v: unknown, index: number, ctx: ElementContext): string {
  if (typeof v !== 'string') throw wrongType(v, 'a string', 'BYTES', index, ctx);
  // UTF-8 length is between length and 3 * length code units; only measure when it matters.
  if (v.length * 3 > ctx.maxStringBytes) {
    const bytes = utf8Length(v);
    if (bytes > ctx.maxStringBytes) {
      throw errors.badRequest(
        `${ctx.label}: ${where(index, ctx)} is a string of ${bytes} bytes, over the limit of ${ctx.maxStringBytes} bytes (maxStringBytes)`,
        ctx.field,
      );
    }
  }
  return v;
}

// ---- row fillers: the hot loops ----

const fillFP32: FillRow<Float32Array> = (src, out, offset, ctx) => {
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    out[offset + i] =
      typeof v === 'number' && v < F32_OVERFLOW && v > -F32_OVERFLOW ? v : slowFloat(v, 'FP32', offset + i, ctx);
  }
};

const fillFP64: FillRow<Float64Array> = (src, out, offset, ctx) => {
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    out[offset + i] = typeof v === 'number' ? v : slowFloat(v, 'FP64', offset + i, ctx);
  }
};

const fillFP16: FillRow<Uint16Array> = (src, out, offset, ctx) => {
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    const x = typeof v === 'number' ? v : slowFloat(v, 'FP16', offset + i, ctx);
    const bits = float32ToFloat16Bits(x);
    // A finite value that became +-Infinity overflowed the half range (max 65504).
    if ((bits & 0x7fff) === 0x7c00 && Number.isFinite(x)) throw outOfRange(x, 'FP16', offset + i, ctx);
    out[offset + i] = bits;
  }
};

const fillBOOL: FillRow<Uint8Array> = (src, out, offset, ctx) => {
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (v === true) out[offset + i] = 1;
    else if (v === false) out[offset + i] = 0;
    else throw wrongType(v, 'true or false', 'BOOL', offset + i, ctx);
  }
};

type SmallIntArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/** The filler for one 8/16/32-bit integer datatype: JSON integers within its range. */
function integerFiller<T extends SmallIntArray>(dt: Datatype): FillRow<T> {
  const range = DATATYPE_INFO[dt].range as { min: number; max: number };
  const min = range.min;
  const max = range.max;
  return (src, out, offset, ctx) => {
    for (let i = 0; i < src.length; i++) {
      const v = src[i];
      if (typeof v === 'number' && v >= min && v <= max && Number.isInteger(v)) out[offset + i] = v;
      else slowInteger(v, dt, offset + i, ctx);
    }
  };
}

const fillINT64: FillRow<BigInt64Array> = (src, out, offset, ctx) => {
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    out[offset + i] = typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : slowBigInt(v, 'INT64', offset + i, ctx);
  }
};

const fillUINT64: FillRow<BigUint64Array> = (src, out, offset, ctx) => {
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    out[offset + i] =
      typeof v === 'number' && v >= 0 && Number.isSafeInteger(v) ? BigInt(v) : slowBigInt(v, 'UINT64', offset + i, ctx);
  }
};

const fillBYTES: FillRow<string[]> = (src, out, offset, ctx) => {
  for (let i = 0; i < src.length; i++) out[offset + i] = checkString(src[i], offset + i, ctx);
};

// ---- nesting ----

function nestingError(message: string, ctx: ElementContext): BerthError {
  return errors.shape(`${ctx.label}: ${message}`, ctx.field);
}

function formatPath(path: readonly number[]): string {
  let s = 'data';
  for (const i of path) s += `[${i}]`;
  return s;
}

/**
 * Checks that nested data follows the shape level by level (every array as long as its dimension),
 * down to the innermost rows; their elements are checked as they are converted. On entry
 * `node.length === shape[path.length]`; `first` says whether every index on `path` is 0.
 */
function checkNesting(node: readonly unknown[], path: number[], first: boolean, ctx: ElementContext): void {
  const shape = ctx.shape;
  const depth = path.length;
  if (depth === shape.length - 1) return;
  const dim = shape[depth + 1]!;
  for (let i = 0; i < node.length; i++) {
    const child = node[i];
    path.push(i);
    if (!Array.isArray(child) || child.length !== dim) {
      const got = Array.isArray(child) ? `has ${child.length} element${child.length === 1 ? '' : 's'}` : `is ${describeValue(child)}`;
      const here = formatPath(path);
      // Row-major, the all-zeros node of a depth is checked first: an error anywhere else means
      // this node differs from a sibling that did match.
      throw nestingError(
        first && i === 0
          ? `nested data does not match shape ${formatShape(shape)}: ${here} ${got}, expected an array of ${dim} (dimension ${depth + 1})`
          : `data is ragged: ${here} ${got}, but ${formatPath(path.map(() => 0))} has ${dim}`,
        ctx,
      );
    }
    checkNesting(child, path, first && i === 0, ctx);
    path.pop();
  }
}

/** Writes checked nested data row by row; returns the flat offset after `node`. */
function fillNested<T>(node: readonly unknown[], depth: number, out: T, offset: number, fill: FillRow<T>, ctx: ElementContext): number {
  if (depth === ctx.shape.length - 1) {
    fill(node, out, offset, ctx);
    return offset + node.length;
  }
  let at = offset;
  for (let i = 0; i < node.length; i++) at = fillNested(node[i] as unknown[], depth + 1, out, at, fill, ctx);
  return at;
}

/**
 * Converts flat or nested `data`, whose element count and nesting must match the shape, into
 * storage from `alloc`. Storage is allocated only once the data has shown it holds `count`
 * elements, so a small body cannot make us allocate for a huge declared shape.
 */
function fillAll<T>(data: readonly unknown[], count: number, alloc: (n: number) => T, fill: FillRow<T>, ctx: ElementContext): T {
  const shape = ctx.shape;
  if (shape.length >= 2 && data.length > 0 && Array.isArray(data[0])) {
    if (data.length !== shape[0]) {
      throw nestingError(
        `nested data does not match shape ${formatShape(shape)}: data has ${data.length} element${data.length === 1 ? '' : 's'}, expected ${shape[0]} (dimension 0)`,
        ctx,
      );
    }
    checkNesting(data, [], true, ctx);
    const out = alloc(count);
    fillNested(data, 0, out, 0, fill, { ...ctx, nested: true });
    return out;
  }
  if (data.length !== count) {
    throw nestingError(`data has ${data.length} element${data.length === 1 ? '' : 's'} but shape ${formatShape(shape)} needs ${count}`, ctx);
  }
  const out = alloc(count);
  fill(data, out, 0, ctx);
  return out;
}

/**
 * Converts one input's JSON `data` (flat or nested, row-major) into the storage `Tensor.data` uses for
 * `datatype`. `count` is the shape's element count, already checked against the limits.
 */
export function convertData(datatype: Datatype, data: readonly unknown[], count: number, ctx: ElementContext): TensorData {
  switch (datatype) {
    case 'FP32':
      return fillAll(data, count, (n) => new Float32Array(n), fillFP32, ctx);
    case 'FP64':
      return fillAll(data, count, (n) => new Float64Array(n), fillFP64, ctx);
    case 'FP16':
      return fillAll(data, count, (n) => new Uint16Array(n), fillFP16, ctx);
    case 'BOOL':
      return fillAll(data, count, (n) => new Uint8Array(n), fillBOOL, ctx);
    case 'INT8':
      return fillAll(data, count, (n) => new Int8Array(n), fillINT8, ctx);
    case 'INT16':
      return fillAll(data, count, (n) => new Int16Array(n), fillINT16, ctx);
    case 'INT32':
      return fillAll(data, count, (n) => new Int32Array(n), fillINT32, ctx);
    case 'UINT8':
      return fillAll(data, count, (n) => new Uint8Array(n), fillUINT8, ctx);
    case 'UINT16':
      return fillAll(data, count, (n) => new Uint16Array(n), fillUINT16, ctx);
    case 'UINT32':
      return fillAll(data, count, (n) => new Uint32Array(n), fillUINT32, ctx);
    case 'INT64':
      return fillAll(data, count, (n) => new BigInt64Array(n), fillINT64, ctx);
    case 'UINT64':
      return fillAll(data, count, (n) => new BigUint64Array(n), fillUINT64, ctx);
    case 'BYTES':
      // Filled strictly in order from empty, so the array stays packed (faster to read and stringify).
      return fillAll(data, count, (): string[] => [], fillBYTES, ctx);
  }
}

const fillINT8 = integerFiller<Int8Array>('INT8');
const fillINT16 = integerFiller<Int16Array>('INT16');
const fillINT32 = integerFiller<Int32Array>('INT32');
const fillUINT8 = integerFiller<Uint8Array>('UINT8');
const fillUINT16 = integerFiller<Uint16Array>('UINT16');
const fillUINT32 = integerFiller<Uint32Array>('UINT32');
