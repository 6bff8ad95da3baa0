/** One entity's latest row of one feature view, as the online store keeps it. */
export interface OnlineRecord {
  /** Event time of the row, epoch milliseconds. */
  eventTs: number;
  /** Created time (tie-break between rows with the same event time), epoch milliseconds; 0 when absent. */
  createdTs: number;
  /** The view's feature values in the view's feature order, as JSON array text. */
  values: string;
}

/** A record to write: which view and entity key it belongs to. */
export interface OnlineWrite extends OnlineRecord {
  view: string;
  /** Entity key (see `entityKey`). */
  key: string;
}

/** A record to read. */
export interface OnlineKey {
  view: string;
  key: string;
}

/**
 * Where materialized and pushed features live for serving. Every implementation passes the
 * contract suite in test/features/online-contract.ts.
 */
export interface OnlineStore {
  /** A short name for logs and benchmarks (`sqlite`, `redis`). */
  readonly kind: string;
  /**
   * Writes records; a record only replaces the stored one when it is newer (later event time, or
   * the same event time and a created time at least as late), so replays and late data are safe.
   */
  write(records: OnlineWrite[]): Promise<void>;
  /** Reads many records in one round trip; `undefined` where nothing is stored. Order follows `keys`. */
  read(keys: OnlineKey[]): Promise<(OnlineRecord | undefined)[]>;
  /** Removes every record of a view (when the view is removed or its features change). */
  deleteView(view: string): Promise<void>;
  close(): Promise<void>;
}

/** The online store key of one entity: join key values in order, made text and joined. */
export function entityKey(values: readonly unknown[]): string {
  return values.length === 1 ? String(values[0]) : values.map(String).join('\u001f');
}
