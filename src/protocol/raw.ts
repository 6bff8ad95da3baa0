/**
 * Raw tensor codec, shared by gRPC `raw_input_contents` / `raw_output_contents` and Triton's
 * `binary_tensor_data`: elements little-endian, row-major, no padding; BOOL one byte (0 or 1);
 * BYTES one 4-byte little-endian length followed by that many bytes per element. FP16 is the
 * IEEE 754 half bits as they are stored in `Tensor.data`.
 *
 * BYTES elements become the strings `Tensor.data` holds, so they must be valid UTF-8; anything else
 * is refused with the element's index rather than silently altered.
 */
import { BerthError, errors } from '../errors.js';
import { DATATYPE_INFO, elementCount, formatShape } from './datatypes.js';
import type { Datatype, Tensor, TensorData } from './types.js';

export type { ExternalData } from './decode.js';

/** What the decoder needs to know about the tensor the bytes belong to, and how to name it. */
export interface RawTarget {
  datatype: Datatype;
  shape: readonly number[];
  /** Elements the shape holds. */
  count: number;
  /** `inputs[0] ('x')`: prefixes messages. */
  label: string;
  /** The request field at fault when the bytes are wrong (e.g. `raw_input_contents[0]`). */
  field: string;
  /** Largest BYTES element, in bytes. */
  maxStringBytes: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reverses the bytes of every `size`-byte element in place (only on big-endian hosts). */
function swapEach(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function decodeBytesElements(raw: Uint8Array, t: RawTarget): string[] {
  const out: string[] = [];
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let at = 0;
  for (let i = 0; i < t.count; i++) {
    if (at + 4 > raw.length) {
      throw errors.badRequest(
        `${t.label}: raw BYTES data ends after ${plural(i, 'element')} (${raw.length} bytes), but shape ${formatShape(t.shape)} needs ${t.count}`,
        t.field,
      );
    }
    const len = view.getUint32(at, true);
    at += 4;
    if (len > raw.length - at) {
      throw errors.badRequest(
        `${t.label}: raw BYTES element ${i} declares ${len} bytes but only ${raw.length - at} remain`,
        t.field,
      );
    }
    if (len > t.maxStringBytes) {
      throw errors.badRequest(
        `${t.label}: element ${i} is a string of ${len} bytes, over the limit of ${t.maxStringBytes} bytes (maxStringBytes)`,
        t.field,
      );
    }
    try {
      out.push(utf8.decode(raw.subarray(at, at + len)));
    } catch {
      throw errors.datatype(`${t.label}: raw BYTES element ${i} is not valid UTF-8 (Berth holds BYTES as text)`, t.field);
    }
    at += len;
  }
  if (at !== raw.length) {
    throw errors.badRequest(
      `${t.label}: raw BYTES data has ${raw.length - at} bytes left over after the ${plural(t.count, 'element')} shape ${formatShape(t.shape)} holds`,
      t.field,
    );
  }
  return out;
}

/**
 * Decodes raw bytes into the storage `Tensor.data` uses for `t.datatype`, after checking their size
 * against the shape; throws BAD_REQUEST (or DATATYPE for a BOOL byte other than 0/1 or BYTES that are
 * not UTF-8) naming `t.field`. The bytes are copied, so the caller may reuse its buffer.
 */
export function decodeRawTensor(raw: Uint8Array, t: RawTarget): TensorData {
  const info = DATATYPE_INFO[t.datatype];
  if (info.arrayType === null || info.byteSize === null) return decodeBytesElements(raw, t);
  const expected = t.count * info.byteSize;
  if (raw.length !== expected) {
    throw errors.badRequest(
      `${t.label}: raw data has ${raw.length} bytes, but shape ${formatShape(t.shape)} of ${t.datatype} needs ${expected} (${t.count} × ${info.byteSize})`,
      t.field,
    );
  }
  const data = new info.arrayType(t.count);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  bytes.set(raw);
  if (!LITTLE_ENDIAN) swapEach(bytes, info.byteSize);
  if (t.datatype === 'BOOL') {
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i]! > 1) throw errors.datatype(`${t.label}: raw BOOL element ${i} is byte ${bytes[i]}, expected 0 or 1`, t.field);
    }
  }
  return data;
}

/** Bytes `encodeRawTensor` will produce for `t`. */
export function rawByteLength(t: Tensor): number {
  const size = DATATYPE_INFO[t.datatype].byteSize;
  if (size !== null) return t.data.length * size;
  let n = 0;
  for (const s of t.data as string[]) n += 4 + Buffer.byteLength(s, 'utf8');
  return n;
}

/**
 * Encodes a tensor's elements in raw form. Numeric tensors on little-endian hosts are returned as a
 * view of their storage, without copying. Throws INTERNAL if the data does not fill the shape.
 */
export function encodeRawTensor(t: Tensor): Buffer {
  const count = elementCount(t.shape);
  if (t.data.length !== count) {
    throw new BerthError('INTERNAL', `output '${t.name}': data has ${t.data.length} elements but shape ${formatShape(t.shape)} needs ${count}`);
  }
  const info = DATATYPE_INFO[t.datatype];
  if (info.byteSize === null) {
    const strings = t.data as string[];
    const out = Buffer.allocUnsafe(rawByteLength(t));
    let at = 0;
    for (const s of strings) {
      const len = out.write(s, at + 4, 'utf8');
      out.writeUInt32LE(len, at);
      at += 4 + len;
    }
    return out;
  }
  const typed = t.data as Exclude<TensorData, string[]>;
  const view = Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
  if (LITTLE_ENDIAN) return view;
  const copy = Buffer.from(view);
  swapEach(copy, info.byteSize);
  return copy;
}
