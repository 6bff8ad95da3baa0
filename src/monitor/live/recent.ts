import type { CellValue } from './summary.js';

/** What a recent request predicted, for joining labels without touching the store. */
export interface RecentPrediction {
  model: string;
  version: number;
  time: number;
  predictions: CellValue[];
}

/**
 * Recent request ids (at least the newest `capacity / 2`) with what they predicted, for the feedback join. Calls are kept in
 * ring arrays and the maps hold only a slot number: no object per call that outlives the drain (those
 * objects, promoted by the garbage collector, cost more than the rest of a 1-row call's bookkeeping).
 * The id -> slot index is built lazily, by the first lookup after calls were added: a server that gets
 * no feedback never pays for it, and one that does pays once per lookup batch, not on every call.
 * Two generations of maps stand in for eviction: a full young map becomes the old one.
 */
export class RecentRequests {
  private young = new Map<string, number>();
  private old = new Map<string, number>();
  private readonly ids: (string | undefined)[];
  private readonly models: string[];
  private readonly versions: Float64Array;
  private readonly times: Float64Array;
  /** The prediction of a 1-row call, or the array of a batch call's (`batch` tells which). */
  private readonly values: (CellValue | CellValue[])[];
  private readonly batch: Uint8Array;
  private next = 0;
  /** Calls added, and how many of them the maps index. */
  private added = 0;
  private indexed = 0;

  constructor(private readonly capacity: number) {
    this.ids = new Array(capacity);
    this.models = new Array(capacity);
    this.versions = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
    this.values = new Array(capacity).fill(null);
    this.batch = new Uint8Array(capacity);
  }

  /** Remembers a call (a later call with the same id replaces it). */
  add(id: string, model: string, version: number, time: number, predictions: CellValue[]): void {
    const slot = this.next;
    this.next = slot + 1 === this.capacity ? 0 : slot + 1;
    this.ids[slot] = id;
    this.models[slot] = model;
    this.versions[slot] = version;
    this.times[slot] = time;
    const single = predictions.length === 1;
    this.values[slot] = single ? (predictions[0] as CellValue) : predictions;
    this.batch[slot] = single ? 0 : 1;
    this.added++;
  }

  /** Indexes the calls added since the last lookup (those the ring still holds). */
  private catchUp(): void {
    const from = Math.max(this.indexed, this.added - this.capacity);
    for (let k = from; k < this.added; k++) {
      if (this.young.size >= this.capacity / 2) {
        this.old = this.young;
        this.young = new Map();
      }
      const slot = k % this.capacity;
      this.young.set(this.ids[slot] as string, slot);
    }
    this.indexed = this.added;
  }

  /** The newest remembered call of a request id. */
  get(id: string): RecentPrediction | undefined {
    if (this.indexed !== this.added) this.catchUp();
    const slot = this.young.get(id) ?? this.old.get(id);
    // a slot the ring has since reused belongs to another id
    if (slot === undefined || this.ids[slot] !== id) return undefined;
    const v = this.values[slot] as CellValue | CellValue[];
    return {
      model: this.models[slot] as string,
      version: this.versions[slot] as number,
      time: this.times[slot] as number,
      predictions: this.batch[slot] === 1 ? [...(v as CellValue[])] : [v as CellValue],
    };
  }
}
