import { errors } from '../../errors.js';
import type { FeedbackRow, LoggedRequest } from '../logging/store.js';
import type { Monitoring } from '../live/service.js';
import type { CellValue } from '../live/summary.js';

/** Items one POST may carry. */
export const MAX_FEEDBACK_ITEMS = 10_000;

/** What `POST /api/v1/feedback` answers. */
export interface FeedbackResult {
  /** Items joined to a logged prediction. */
  accepted: number;
  /** Rows labeled (a label array labels one row each). */
  labeled_rows: number;
  /** Request ids with no logged prediction (never logged, sampled out, or failed calls). */
  unknown: string[];
  /** Items that were not understood, by their index in the batch. */
  invalid: { index: number; error: string }[];
}

type Label = string | number | boolean;
const isLabel = (x: unknown): x is Label => typeof x === 'string' || (typeof x === 'number' && Number.isFinite(x)) || typeof x === 'boolean';

/** Joins delayed labels to logged predictions and feeds them to the version's performance window. */
export class FeedbackJoin {
  constructor(private readonly m: Monitoring) {}

  /** Validates a batch, joins each item (memory first, then the store in one pass), and records the labels. */
  async join(body: unknown): Promise<FeedbackResult> {
    const items = Array.isArray(body) ? body : (body as { items?: unknown } | null)?.items;
    if (!Array.isArray(items)) throw errors.badRequest('body must be a JSON array of {"request_id", "label"} items', 'body');
    if (items.length > MAX_FEEDBACK_ITEMS) throw errors.badRequest(`at most ${MAX_FEEDBACK_ITEMS} feedback items per request, got ${items.length}`, 'body');
    // a label may arrive right after its prediction, before the queue was drained
    await this.m.flush();
    const parsed = items.map((item: { request_id?: unknown; label?: unknown } | null) => {
      const id = item?.request_id;
      const label = item?.label;
      if (typeof id !== 'string' || id === '') return { error: 'request_id must be a non-empty string' };
      const labels: Label[] | undefined = isLabel(label) ? [label] : Array.isArray(label) && label.every(isLabel) ? (label as Label[]) : undefined;
      if (labels === undefined || labels.length === 0) {
        return { error: 'label must be a string, number or boolean, or an array of them (one per row of the request)' };
      }
      return { id, labels };
    });
    // ids no longer in memory are looked up in the store together: one pass over its pages, not one per id
    const older = parsed.flatMap((p) => (p.id !== undefined && this.m.recent(p.id) === undefined ? [p.id] : []));
    const stored = older.length > 0 && this.m.store !== undefined ? this.m.store.findRequests(older) : new Map<string, LoggedRequest>();
    const result: FeedbackResult = { accepted: 0, labeled_rows: 0, unknown: [], invalid: [] };
    const now = Date.now();
    const rows: FeedbackRow[] = [];
    for (let index = 0; index < parsed.length; index++) {
      const { id, labels, error } = parsed[index] as { id?: string; labels?: Label[]; error?: string };
      if (id === undefined || labels === undefined) {
        result.invalid.push({ index, error: error ?? 'invalid item' });
        continue;
      }
      const found = this.m.recent(id) ?? stored.get(id);
      if (found === undefined) {
        result.unknown.push(id);
        continue;
      }
      if (labels.length !== found.predictions.length) {
        result.invalid.push({ index, error: `request '${id}' logged ${found.predictions.length} rows: give one label per row (an array of ${found.predictions.length})` });
        continue;
      }
      const st = found.version === null ? undefined : await this.m.stateFor(found.model, found.version);
      const perf = st?.window.bucketAt(now)?.performance;
      labels.forEach((l, row) => {
        const prediction: CellValue = found.predictions[row] ?? null;
        perf?.add(prediction, typeof l === 'boolean' ? String(l) : l);
        rows.push({
          time: now,
          requestId: id,
          row,
          model: found.model,
          version: found.version,
          prediction: JSON.stringify(prediction),
          label: String(l),
          predictedAt: found.time,
        });
      });
      result.accepted++;
      result.labeled_rows += labels.length;
    }
    this.m.store?.appendFeedback(rows);
    return result;
  }
}
