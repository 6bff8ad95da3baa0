import type { FeatureRepo, FeatureViewDef } from './definitions.js';
import { latestRows } from './offline/index.js';
import type { OnlineStore } from './online/index.js';
import type { FeatureRegistry } from './registry.js';

/** Progress of one view: entity rows written so far and the (estimated) total. */
export type ProgressFn = (view: string, written: number, total: number, done: boolean) => void;

export interface MaterializeReport {
  view: string;
  start: string;
  end: string;
  /** Entities written to the online store. */
  rows: number;
  ms: number;
}

/** Materializes views one after another, chunk by chunk, and moves each view's watermark. */
export async function materializeViews(
  store: { registry: FeatureRegistry; online: OnlineStore; home: string; definitions(): FeatureRepo },
  jobs: { view: FeatureViewDef; startMs: number; endMs: number }[],
  progress?: ProgressFn,
): Promise<MaterializeReport[]> {
  const reports: MaterializeReport[] = [];
  for (const job of jobs) {
    const t0 = performance.now();
    let total = 0;
    let written = 0;
    const chunks = latestRows(store.definitions(), job.view, job.startMs, job.endMs, {
      total: (n) => {
        total = n;
        progress?.(job.view.name, 0, total, false);
      },
    });
    for await (const chunk of chunks) {
      await store.online.write(chunk.map((r) => ({ view: job.view.name, key: r.key, eventTs: r.eventTs, createdTs: r.createdTs, values: r.values })));
      written += chunk.length;
      progress?.(job.view.name, written, Math.max(total, written), false);
    }
    progress?.(job.view.name, written, written, true);
    store.registry.setMaterialized(job.view.name, job.endMs);
    reports.push({
      view: job.view.name,
      start: new Date(job.startMs).toISOString(),
      end: new Date(job.endMs).toISOString(),
      rows: written,
      ms: Math.round(performance.now() - t0),
    });
  }
  return reports;
}
