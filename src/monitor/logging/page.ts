import { DATATYPE_INFO, type Datatype, decodeRawTensor, type Tensor } from '../../protocol/index.js';
import type { CellValue } from '../live/summary.js';
import type { VersionLayout } from './layout.js';

/**
 * A log page: the calls of one model version that one drain wrote to one day file, stored column by
 * column in a single SQLite row. Per call the hot path only copies the tensors' bytes (the raw tensor
 * form of gRPC and Triton's binary extension) and a few numbers into growing buffers; the JSON of
 * request ids, routes and predictions is made once per page, and SQLite sees one insert per page
 * instead of one per row. Readers decode a page back into tensors and use the same layout code as the
 * live path (see store.ts), so what they fold is what the server folded.
 */

/** A tensor kept in a page: its name, datatype and shape after the first (row) dimension. */
export interface PageTensor {
  name: string;
  datatype: Datatype;
  inner: number[];
  input: boolean;
}

/** What a page's calls have in common, stored once per page as JSON. */
export interface PageSpec {
  /** The layout the rows are read with (features, prediction output); null for calls with no version state. */
  layout: Pick<VersionLayout, 'mode' | 'input' | 'features' | 'prediction'> | null;
  tensors: PageTensor[];
}

/** Outputs wider than this many values a row are not logged (embeddings, images). */
export const MAX_OUTPUT_VALUES_PER_ROW = 256;
/**
 * A page's meta blob: per call its time and seconds (float64), then per call its status, rows, the
 * end offset of its bytes in the data blob and each kept tensor's first dimension (uint32).
 */
const META = 3;
const M_STATUS = 0;
const M_ROWS = 1;
const M_END = 2;

/** FNV-1a of a request id: the page's lookup key for the feedback join (collisions are checked against the ids). */
export function idHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h | 0;
}

const innerCount = (inner: number[]): number => inner.reduce((a, b) => a * b, 1);

/** The spec of a page for a call's kept tensors (the first `inputs` of them inputs). */
export function specOf(layout: VersionLayout | undefined, tensors: Tensor[], inputs: number): PageSpec {
  return {
    layout: layout === undefined ? null : { mode: layout.mode, input: layout.input, features: layout.features, prediction: layout.prediction },
    tensors: tensors.map((t, k) => ({ name: t.name, datatype: t.datatype, inner: t.shape.slice(1), input: k < inputs })),
  };
}

/** The tensors of a call that a page keeps: the layout's inputs, then outputs up to 256 values a row; returns how many are inputs. */
export function keptTensors(layout: VersionLayout, inputs: Tensor[], outputs: Tensor[], kept: Tensor[]): number {
  if (layout.mode === 'matrix') {
    for (const t of inputs) if (t.name === layout.input && t.shape.length > 0) kept.push(t);
  } else if (layout.mode === 'columns') {
    for (const t of inputs) if (t.shape.length > 0 && layout.features.includes(t.name)) kept.push(t);
  }
  const n = kept.length;
  // scalars have no rows to slice: they are left out like wide outputs
  for (const t of outputs) if (t.shape.length > 0 && perRow(t) <= MAX_OUTPUT_VALUES_PER_ROW) kept.push(t);
  return n;
}

/** Values a row of a tensor holds. */
function perRow(t: Tensor): number {
  let n = 1;
  for (let d = 1; d < t.shape.length; d++) n *= t.shape[d] as number;
  return n;
}

/** Collects the calls of one page. */
export class PageBuilder {
  calls = 0;
  rows = 0;
  /** Rows as the monitoring queue counts them (a call with no predicted rows counts 1): what a dropped page is counted as. */
  loggedRows = 0;
  firstTime = Number.POSITIVE_INFINITY;
  lastTime = Number.NEGATIVE_INFINITY;
  private data = Buffer.allocUnsafeSlow(4096);
  private bytes = 0;
  private times = new Float64Array(128);
  private meta = new Uint32Array(256);
  private hashes = new Int32Array(64);
  private readonly ids: (string | null)[] = [];
  private routes: [string | null, string | null][] | undefined;
  private readonly predictions: CellValue[] = [];
  private readonly stride: number;

  constructor(
    readonly model: string,
    readonly version: number | null,
    readonly spec: PageSpec,
  ) {
    this.stride = META + spec.tensors.length;
  }

  /** True when a call's kept tensors (the first `inputs` of them inputs) have this page's names, datatypes and inner shapes. */
  fits(tensors: Tensor[], inputs: number): boolean {
    const spec = this.spec.tensors;
    if (tensors.length !== spec.length) return false;
    for (let k = 0; k < spec.length; k++) {
      const t = tensors[k] as Tensor;
      const s = spec[k] as PageTensor;
      if (t.name !== s.name || t.datatype !== s.datatype || s.input !== k < inputs || t.shape.length !== s.inner.length + 1) return false;
      for (let d = 0; d < s.inner.length; d++) if (t.shape[d + 1] !== s.inner[d]) return false;
    }
    return true;
  }

  /** Appends one call: its tensors (which must fit), its predictions (one per row) and its metadata. */
  add(
    time: number,
    seconds: number,
    status: number,
    requestId: string | null,
    experiment: string | null,
    variant: string | null,
    tensors: Tensor[],
    predictions: CellValue[] | undefined,
  ): void {
    const c = this.calls++;
    if ((c + 1) * this.stride > this.meta.length) this.meta = grow(this.meta, (c + 1) * this.stride);
    if (2 * c + 2 > this.times.length) this.times = grow(this.times, 2 * c + 2);
    if (c >= this.hashes.length) this.hashes = grow(this.hashes, c + 1);
    const m = c * this.stride;
    const rows = predictions === undefined ? 0 : predictions.length;
    this.times[2 * c] = time;
    this.times[2 * c + 1] = seconds;
    this.meta[m + M_STATUS] = status;
    this.meta[m + M_ROWS] = rows;
    for (let k = 0; k < tensors.length; k++) {
      const t = tensors[k] as Tensor;
      this.meta[m + META + k] = t.shape.length === 0 ? 1 : (t.shape[0] as number);
      this.put(t);
    }
    this.meta[m + M_END] = this.bytes;
    this.hashes[c] = requestId === null ? 0 : idHash(requestId);
    this.ids.push(requestId);
    if (experiment !== null || variant !== null || this.routes !== undefined) {
      this.routes ??= Array.from({ length: c }, () => [null, null]);
      this.routes.push([experiment, variant]);
    }
    if (predictions !== undefined) for (let i = 0; i < rows; i++) this.predictions.push(predictions[i] as CellValue);
    this.rows += rows;
    this.loggedRows += rows === 0 ? 1 : rows;
    if (time < this.firstTime) this.firstTime = time;
    if (time > this.lastTime) this.lastTime = time;
  }

  private put(t: Tensor): void {
    const d = t.data;
    if (Array.isArray(d)) {
      for (const s of d) {
        this.reserve(4 + s.length * 3);
        const buf = this.data;
        const at = this.bytes + 4;
        // short ASCII labels are copied by hand: Buffer#write costs more than the bytes for them
        let len = 0;
        while (len < s.length && len < 64) {
          const ch = s.charCodeAt(len);
          if (ch >= 0x80) break;
          buf[at + len++] = ch;
        }
        if (len < s.length) len = buf.write(s, at, 'utf8');
        buf[at - 4] = len & 0xff;
        buf[at - 3] = (len >>> 8) & 0xff;
        buf[at - 2] = (len >>> 16) & 0xff;
        buf[at - 1] = len >>> 24;
        this.bytes = at + len;
      }
      return;
    }
    const n = d.byteLength;
    this.reserve(n);
    const buf = this.data;
    const at = this.bytes;
    if (n <= SCRATCH_BYTES) {
      // small tensors (the common 1-row call) live on V8's heap: reading `.buffer` would move them off it
      // (an allocation and a copy), so their elements go through a scratch array of the same type instead
      const { values, bytes } = scratchFor(d);
      for (let k = 0; k < d.length; k++) values[k] = d[k] as never;
      for (let b = 0; b < n; b++) buf[at + b] = bytes[b] as number;
    } else buf.set(new Uint8Array(d.buffer, d.byteOffset, n), at);
    this.bytes += n;
  }

  private reserve(n: number): void {
    if (this.bytes + n <= this.data.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.data.length * 2, this.bytes + n));
    this.data.copy(next, 0, 0, this.bytes);
    this.data = next;
  }

  /**
   * The page's column values, in the INSERT order after model and version (schema.ts). Its blobs own
   * their memory (none is a slice of Node's shared Buffer pool), so they can be transferred to the
   * writer thread; the page must not be used after.
   */
  encode(): unknown[] {
    const meta = Buffer.allocUnsafeSlow(this.calls * (16 + this.stride * 4));
    meta.set(new Uint8Array(this.times.buffer, 0, this.calls * 16));
    meta.set(new Uint8Array(this.meta.buffer, 0, this.calls * this.stride * 4), this.calls * 16);
    const hashes = Buffer.from(this.hashes.buffer, 0, this.calls * 4);
    return [
      this.firstTime,
      this.lastTime,
      this.calls,
      this.rows,
      hashes,
      JSON.stringify(this.spec),
      meta,
      JSON.stringify(this.ids),
      this.routes === undefined ? null : JSON.stringify(this.routes),
      this.data.subarray(0, this.bytes),
      JSON.stringify(this.predictions),
    ];
  }
}

const SCRATCH_BYTES = 128;
const scratches = new Map<unknown, { values: { [k: number]: unknown }; bytes: Uint8Array }>();

/** A preallocated array of `d`'s type with a byte view of it, for copying small tensors. */
function scratchFor(d: Exclude<Tensor['data'], string[]>): { values: { [k: number]: unknown }; bytes: Uint8Array } {
  let s = scratches.get(d.constructor);
  if (s === undefined) {
    const values = new (d.constructor as new (n: number) => Exclude<Tensor['data'], string[]>)(SCRATCH_BYTES / d.BYTES_PER_ELEMENT);
    s = { values, bytes: new Uint8Array(values.buffer) };
    scratches.set(d.constructor, s);
  }
  return s;
}

function grow<T extends Float64Array | Int32Array | Uint32Array>(a: T, atLeast: number): T {
  const next = new (a.constructor as new (n: number) => T)(Math.max(a.length * 2, atLeast));
  next.set(a);
  return next;
}

/** A page row as SQLite returns it. */
export interface PageRow {
  model: string;
  version: number | null;
  calls: number;
  spec: string;
  meta: Buffer;
  request_ids: string;
  routes: string | null;
  data: Buffer;
  predictions: string;
}

/** One logged call decoded from a page. */
export interface LoggedCall {
  time: number;
  model: string;
  version: number | null;
  requestId: string | null;
  status: number;
  seconds: number;
  experiment: string | null;
  variant: string | null;
  /** Rows predicted (0 for failed calls and calls that were not monitored). */
  rows: number;
  /** The kept input tensors (those the layout reads), and outputs up to 256 values a row. */
  inputs: Tensor[];
  outputs: Tensor[];
  predictions: CellValue[];
  /** The layout the call was logged with (null when the server had no state for its version). */
  layout: PageSpec['layout'];
}

/** What decodePage reads: `only` picks calls by request id (the others are skipped unread), `tensors: false` leaves the bytes alone. */
export interface DecodeOptions {
  only?: (requestId: string | null) => boolean;
  tensors?: boolean;
}

/** Decodes a page's calls in the order they were served, handing each to `each` until it returns false. */
export function decodePage(p: PageRow, each: (call: LoggedCall) => boolean | undefined, opts: DecodeOptions = {}): boolean {
  const spec = JSON.parse(p.spec) as PageSpec;
  const ids = JSON.parse(p.request_ids) as (string | null)[];
  const routes = p.routes === null ? undefined : (JSON.parse(p.routes) as [string | null, string | null][]);
  const predictions = JSON.parse(p.predictions) as CellValue[];
  const stride = META + spec.tensors.length;
  const bytes = p.meta.buffer.slice(p.meta.byteOffset, p.meta.byteOffset + p.meta.byteLength);
  const times = new Float64Array(bytes, 0, p.calls * 2);
  const meta = new Uint32Array(bytes, p.calls * 16);
  let at = 0;
  let row = 0;
  for (let c = 0; c < p.calls; c++) {
    const m = c * stride;
    const rows = meta[m + M_ROWS] as number;
    const end = meta[m + M_END] as number;
    if (opts.only !== undefined && !opts.only(ids[c] ?? null)) {
      at = end;
      row += rows;
      continue;
    }
    const inputs: Tensor[] = [];
    const outputs: Tensor[] = [];
    if (opts.tensors !== false && (end > at || rows > 0)) {
      spec.tensors.forEach((s, k) => {
        const first = meta[m + META + k] as number;
        const shape = [first, ...s.inner];
        const count = first * innerCount(s.inner);
        const size = DATATYPE_INFO[s.datatype].byteSize;
        let len: number;
        if (size !== null) len = count * size;
        else {
          len = 0;
          for (let i = 0; i < count; i++) len += 4 + p.data.readUInt32LE(at + len);
        }
        const raw = p.data.subarray(at, at + len);
        at += len;
        const data = decodeRawTensor(raw, { datatype: s.datatype, shape, count, label: s.name, field: 'data', maxStringBytes: Number.MAX_SAFE_INTEGER });
        (s.input ? inputs : outputs).push({ name: s.name, datatype: s.datatype, shape, data });
      });
    }
    at = end;
    const route = routes?.[c];
    const call: LoggedCall = {
      time: times[2 * c] as number,
      model: p.model,
      version: p.version,
      requestId: ids[c] ?? null,
      status: meta[m + M_STATUS] as number,
      seconds: times[2 * c + 1] as number,
      experiment: route?.[0] ?? null,
      variant: route?.[1] ?? null,
      rows,
      inputs,
      outputs,
      predictions: predictions.slice(row, row + rows),
      layout: spec.layout,
    };
    row += rows;
    if (each(call) === false) return false;
  }
  return true;
}
