import { join } from 'node:path';
import type { Logger } from 'pino';
import { Counter, type Registry as PromRegistry } from 'prom-client';
import { errors } from '../../errors.js';
import type { Tensor } from '../../protocol/index.js';
import type { ModelVersion, Registry } from '../../registry/index.js';
import type { InferenceEvent, InferenceObserver } from '../../serving/index.js';
import type { DriftMethod } from '../drift/index.js';
import { FeedbackJoin, type FeedbackResult } from '../feedback/join.js';
import { cellReader, extractPredictions, layoutOf, rowsOf, type VersionLayout } from '../logging/layout.js';
import { keptTensors } from '../logging/page.js';
import { LogBatch, PredictionStore } from '../logging/store.js';
import { registerMonitoringGauges } from './gauges.js';
import { replayLog } from './report.js';
import { type RecentPrediction, RecentRequests } from './recent.js';
import { type LiveDriftReport, type PerformanceReport, driftOf, performanceOf } from './queries.js';
import { loadReferenceSummary, type ReferenceSummary } from './reference.js';
import { type CellValue, type ColumnSummary, SlidingWindow, summarizedColumns } from './summary.js';

/** Defaults: a one-hour window of twelve five-minute buckets, a 100,000-row queue drained every 200 ms. */
export const MONITORING_DEFAULTS = { windowMs: 3_600_000, buckets: 12, queueRows: 100_000, flushMs: 200, sampleRate: 1, retentionMs: 30 * 86_400_000 };
/** How often day files past the retention are looked for. */
const PRUNE_EVERY_MS = 3_600_000;
const NO_TENSORS: Tensor[] = [];
/**
 * Rows drained per turn of the event loop (and queued rows that start a drain): a slice holds the loop
 * well under a millisecond, so requests that arrive meanwhile wait little (1,024-row slices held it for
 * 3-5 ms, which showed as the p99 of a busy server), and calls are folded while still young.
 */
const DRAIN_SLICE = 256;
/** Rows gathered before a batch goes to the log's writer thread (the timer and flush send what there is). */
const LOG_BATCH_ROWS = 2048;
/** Request ids remembered in memory for the feedback join (older ones are looked up in the store). */
const RECENT_REQUESTS = 50_000;
/** Logged rows a restarted server reads back into a version's window. */
const MAX_REPLAY_ROWS = 100_000;

export interface MonitoringOptions {
  home: string;
  registry: Registry;
  /** Runs a version (the model's predictions on its reference, for concept drift). */
  run?: (mv: ModelVersion, inputs: Tensor[]) => Promise<Tensor[]>;
  /** Share of calls monitored and logged, 0..1 (default 1; 0 turns monitoring off). */
  sampleRate?: number;
  /** Write the prediction log under `<home>/predictions/` (default true); live summaries stay on either way. */
  predictionLog?: boolean;
  /** Rows the queue holds before new calls are dropped (and counted). */
  queueRows?: number;
  windowMs?: number;
  /** Sub-buckets per window (the window slides by one bucket). */
  buckets?: number;
  flushMs?: number;
  /** Day files of the prediction log are deleted once their day ended this long ago (default 30 days; 0 keeps them all). */
  retentionMs?: number;
  /** Prometheus registry for the counters and gauges. */
  metrics?: PromRegistry;
  logger?: Logger;
}

/** One monitored model version: how its tensors map to columns, its window, its reference. */
export interface VersionState {
  mv: ModelVersion;
  layout: VersionLayout;
  window: SlidingWindow;
  reference: Promise<ReferenceSummary | undefined> | undefined;
  lastSeen: number;
}

/**
 * Live monitoring: an InferenceObserver that queues calls (references only) and, off the hot path,
 * updates per-version window summaries, writes the prediction log and remembers request ids; plus the
 * drift and performance queries over those windows and the feedback join.
 */
export class Monitoring implements InferenceObserver {
  readonly store: PredictionStore | undefined;
  readonly windowMs: number;
  readonly sampleRate: number;
  private queue: InferenceEvent[] = [];
  private queuedRows = 0;
  private readonly capacity: number;
  private readonly buckets: number;
  private draining: Promise<void> | undefined;
  private pendingLog: LogBatch | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly pruner: NodeJS.Timeout | undefined;
  private readonly states = new Map<string, VersionState>();
  private readonly loading = new Map<string, Promise<VersionState | undefined>>();
  private readonly recentRequests = new RecentRequests(RECENT_REQUESTS);
  private readonly dropped: Counter<'model'> | undefined;
  private readonly logged: Counter<'model'> | undefined;
  private readonly pendingLogged = new Map<string, number>();
  private readonly feedbackJoin: FeedbackJoin;
  private closed = false;
  private scheduled = false;
  /** Calls dropped because the queue was full, by model (also the Prometheus counter). */
  readonly droppedByModel = new Map<string, number>();

  constructor(readonly opts: MonitoringOptions) {
    this.windowMs = opts.windowMs ?? MONITORING_DEFAULTS.windowMs;
    this.buckets = opts.buckets ?? MONITORING_DEFAULTS.buckets;
    this.capacity = opts.queueRows ?? MONITORING_DEFAULTS.queueRows;
    this.sampleRate = opts.sampleRate ?? MONITORING_DEFAULTS.sampleRate;
    // pages the log's writer thread cannot take (too many in flight, or lost with a crashed writer) count as dropped, like a full queue
    this.store =
      opts.predictionLog === false
        ? undefined
        : new PredictionStore(join(opts.home, 'predictions'), { onDropped: (model, rows) => this.countDropped(model, rows), logger: opts.logger });
    if (opts.metrics) {
      this.dropped = new Counter({
        name: 'berth_prediction_log_dropped_total',
        help: 'Rows of inference calls the prediction logger dropped because its queue was full.',
        labelNames: ['model'],
        registers: [opts.metrics],
      });
      this.logged = new Counter({
        name: 'berth_prediction_log_rows_total',
        help: 'Rows of inference calls taken into live monitoring (and the prediction log, when on).',
        labelNames: ['model'],
        registers: [opts.metrics],
      });
    }
    this.feedbackJoin = new FeedbackJoin(this);
    // the timer bounds how long a call waits to be logged: it drains and sends whatever was gathered
    this.timer = setInterval(() => void this.drain().then(() => this.writeLog()), opts.flushMs ?? MONITORING_DEFAULTS.flushMs).unref();
    const retention = opts.retentionMs ?? MONITORING_DEFAULTS.retentionMs;
    if (this.store !== undefined && retention > 0) {
      const store = this.store;
      const prune = () => {
        try {
          const gone = store.prune(retention);
          if (gone.length > 0) opts.logger?.info({ files: gone }, 'prediction log: day files past the retention deleted');
        } catch (e) {
          opts.logger?.warn({ err: e }, 'prediction log: could not delete day files past the retention');
        }
      };
      prune();
      this.pruner = setInterval(prune, PRUNE_EVERY_MS).unref();
    }
  }

  /** Hot path: sample, bound, queue a reference to the event. No copying, no serialization. */
  observe(event: InferenceEvent): void {
    if (this.closed || this.sampleRate <= 0) return;
    if (this.sampleRate < 1 && Math.random() >= this.sampleRate) return;
    const rows = event.request === undefined ? 1 : rowsOf(event.request.inputs[0]) || 1;
    if (this.queuedRows + rows > this.capacity) {
      this.countDropped(event.model, rows);
      return;
    }
    this.queue.push(event);
    this.queuedRows += rows;
    if (this.queuedRows >= DRAIN_SLICE && !this.scheduled && this.draining === undefined) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.drain();
      });
    }
  }

  /**
   * Drains everything queued so far and waits for the prediction log to commit it, so that reads of
   * the store see it (the timer drains on its own; queries, tests and the feedback join call this).
   */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.draining !== undefined) await this.drain();
    this.writeLog();
    await this.store?.flush();
  }

  private countDropped(model: string, rows: number): void {
    this.droppedByModel.set(model, (this.droppedByModel.get(model) ?? 0) + rows);
    this.dropped?.inc({ model }, rows);
  }

  private drain(): Promise<void> {
    this.draining ??= this.drainAll().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  /** The log batch calls are added to (created when needed; handed to the writer by writeLog). */
  private logBatch(): LogBatch {
    this.pendingLog ??= new LogBatch();
    return this.pendingLog;
  }

  private async drainAll(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      let done = 0;
      let last: VersionState | undefined;
      for (const ev of batch) {
        const n = ev.request === undefined ? 1 : rowsOf(ev.request.inputs[0]) || 1;
        this.queuedRows -= n;
        try {
          let st: VersionState | undefined;
          // calls of one version come in runs: skip building the key while the version does not change
          if (last !== undefined && ev.version === last.mv.version && ev.model === last.mv.model) st = last;
          else if (ev.version !== undefined) st = this.states.get(`${ev.model}:${ev.version}`) ?? (await this.stateFor(ev.model, ev.version));
          last = st;
          this.process(ev, st, this.store ? this.logBatch() : undefined);
        } catch (e) {
          this.opts.logger?.warn({ err: e, model: ev.model, version: ev.version }, 'monitoring could not take an inference call');
        }
        done += n;
        if (done >= DRAIN_SLICE) {
          this.countLogged();
          if ((this.pendingLog?.rows ?? 0) >= LOG_BATCH_ROWS) this.writeLog();
          done = 0;
          await new Promise((r) => setImmediate(r));
        }
      }
      this.countLogged();
    }
    if ((this.pendingLog?.rows ?? 0) >= LOG_BATCH_ROWS) this.writeLog();
  }

  /** Adds the rows taken since the last call to the Prometheus counter (once per slice: inc with labels is not free). */
  private countLogged(): void {
    for (const [model, n] of this.pendingLogged) this.logged?.inc({ model }, n);
    this.pendingLogged.clear();
  }

  private addLogged(model: string, n: number): void {
    if (this.logged !== undefined) this.pendingLogged.set(model, (this.pendingLogged.get(model) ?? 0) + n);
  }

  /** Hands the gathered log rows to the writer thread. */
  private writeLog(): void {
    const rows = this.pendingLog;
    this.pendingLog = undefined;
    if (this.store === undefined || rows === undefined || rows.rows === 0) return;
    try {
      // posted to the log's writer thread; what it cannot take is counted as dropped through onDropped
      this.store.append(rows);
    } catch (e) {
      this.opts.logger?.error({ err: e, rows: rows.rows }, 'prediction log write failed; rows lost');
      for (const { page } of rows.pages) this.countDropped(page.model, page.loggedRows);
    }
  }

  /** Folds one call into its version's window, the recent-request index and the log rows. */
  process(ev: InferenceEvent, st: VersionState | undefined, log: LogBatch | undefined): void {
    const experiment = ev.route?.parameters?.experiment ?? null;
    const variant = ev.route?.parameters?.variant ?? null;
    const version = ev.version ?? null;
    const requestId = ev.requestId ?? null;
    const bucket = st?.window.bucketAt(ev.time);
    if (st) st.lastSeen = Math.max(st.lastSeen, ev.time);
    if (bucket) {
      bucket.requests++;
      bucket.latency.update(ev.seconds);
    }
    if (ev.status !== 200 || ev.request === undefined || ev.outputs === undefined || st === undefined) {
      if (bucket && ev.status !== 200) bucket.errors++;
      log?.add(ev, version, requestId, experiment, variant, st?.layout, NO_TENSORS, 0, undefined);
      this.addLogged(ev.model, 1);
      return;
    }
    const layout = st.layout;
    const reader = cellReader(layout, ev.request.inputs);
    const n = reader.rows;
    const predictions = extractPredictions(layout, ev.outputs, n);
    if (bucket) {
      bucket.rows += n;
      const columns = bucket.columns;
      for (let j = 0; j < columns.length; j++) {
        const col = columns[j] as ColumnSummary;
        for (let i = 0; i < n; i++) col.add(reader.get(i, j));
      }
      for (let i = 0; i < n; i++) bucket.prediction.add(predictions[i] as CellValue);
    }
    if (ev.requestId !== undefined) this.recentRequests.add(ev.requestId, ev.model, layout.version, ev.time, predictions);
    this.addLogged(ev.model, n);
    if (log === undefined) return;
    // the page copies the tensors' bytes at once, so one scratch list serves every call
    const kept = log.scratch;
    kept.length = 0;
    const inputs = keptTensors(layout, ev.request.inputs, ev.outputs, kept);
    log.add(ev, version, requestId, experiment, variant, layout, kept, inputs, predictions);
  }

  /** A recent request's predictions, if it is still remembered. */
  recent(requestId: string): RecentPrediction | undefined {
    return this.recentRequests.get(requestId);
  }

  /** The state of a version, loading its metadata from the registry the first time. */
  async stateFor(model: string, version: number): Promise<VersionState | undefined> {
    const key = `${model}:${version}`;
    const st = this.states.get(key);
    if (st) return st;
    let p = this.loading.get(key);
    if (p === undefined) {
      p = this.opts.registry.resolve({ name: model, version }).then(
        (mv) => {
          const layout = layoutOf(mv);
          const state: VersionState = {
            mv,
            layout,
            window: new SlidingWindow(this.windowMs, this.buckets, summarizedColumns(mv, layout.features.length)),
            reference: undefined,
            lastSeen: 0,
          };
          this.states.set(key, state);
          // a restarted server picks up the window it had from the log (bounded, so start-up stays short)
          if (this.store) {
            try {
              const now = Date.now();
              replayLog(this.store, state.window, layout, now - this.windowMs, now + 1, MAX_REPLAY_ROWS);
            } catch (e) {
              this.opts.logger?.warn({ err: e, model, version }, 'could not replay the prediction log into the live window');
            }
          }
          return state;
        },
        () => undefined,
      );
      this.loading.set(key, p);
      void p.finally(() => this.loading.delete(key));
    }
    return p;
  }

  /** Monitored versions (for gauges). */
  versions(): VersionState[] {
    return [...this.states.values()];
  }

  /** The reference summary of a version (read once; the model's reference predictions cached under home). */
  reference(st: VersionState): Promise<ReferenceSummary | undefined> {
    st.reference ??= this.loadReference(st).catch((e: unknown) => {
      this.opts.logger?.warn({ err: e, model: st.mv.model, version: st.mv.version }, 'reference dataset could not be read for monitoring');
      st.reference = undefined;
      return undefined;
    });
    return st.reference;
  }

  private loadReference(st: VersionState): Promise<ReferenceSummary | undefined> {
    const run = this.opts.run;
    return loadReferenceSummary(this.opts.registry, this.opts.home, st.mv, st.layout, run && ((inputs) => run(st.mv, inputs)), this.opts.logger);
  }

  /** The version a query about `model` means: the one named, else the last one seen serving, else champion/newest. */
  async stateForQuery(model: string, version?: string): Promise<VersionState> {
    let v: number;
    if (version !== undefined) {
      if (!/^[1-9][0-9]{0,9}$/.test(version)) throw errors.badRequest(`version must be a positive integer, got '${version}'`, 'version');
      v = Number(version);
    } else {
      const seen = this.versions()
        .filter((s) => s.mv.model === model && s.lastSeen > 0)
        .sort((a, b) => b.lastSeen - a.lastSeen)[0];
      v = seen?.mv.version ?? (await this.opts.registry.resolve({ name: model })).version;
    }
    await this.opts.registry.resolve({ name: model, version: v });
    const st = await this.stateFor(model, v);
    if (st === undefined) throw errors.notFound(`model '${model}' has no version ${v}`);
    return st;
  }

  private span(window: number | undefined): number {
    const ms = window ?? this.windowMs;
    if (ms > this.windowMs) {
      throw errors.badRequest(`window must be at most the server's drift window (${this.windowMs / 1000}s; set with --drift-window)`, 'window');
    }
    return ms;
  }

  /** Live drift of a version's traffic over the last `window` ms against its reference. */
  async drift(model: string, q: { version?: string; window?: number; method?: DriftMethod; charts?: boolean } = {}): Promise<LiveDriftReport> {
    await this.flush();
    const st = await this.stateForQuery(model, q.version);
    const span = this.span(q.window);
    const ref = await this.reference(st);
    if (ref === undefined) {
      throw errors.notFound(`version ${st.mv.version} of '${model}' has no readable reference dataset: register one with --reference to monitor drift`);
    }
    const { report, charts } = driftOf(st.layout, ref, st.window.merged(Date.now(), span), span, q.method);
    return q.charts ? { ...report, charts } : report;
  }

  /** Accuracy (or MAE/RMSE), error rate and latency of a version over the last `window` ms. */
  async performance(model: string, q: { version?: string; window?: number } = {}): Promise<PerformanceReport> {
    await this.flush();
    const st = await this.stateForQuery(model, q.version);
    const span = this.span(q.window);
    const now = Date.now();
    return performanceOf(st.layout, st.window.recent(now, span), st.window.merged(now, span), span, st.window.bucketMs);
  }

  /** Joins `[{request_id, label}]` to logged predictions; unknown ids are reported back, not fatal. */
  feedback(body: unknown): Promise<FeedbackResult> {
    return this.feedbackJoin.join(body);
  }

  /** Stops the timer, drains what is queued, and closes the store once its writer has committed it. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    clearInterval(this.pruner);
    await this.flush();
    this.closed = true;
    await this.store?.close();
  }
}

/** Creates live monitoring and registers its counters and gauges on `opts.metrics`. */
export async function openMonitoring(opts: MonitoringOptions): Promise<Monitoring> {
  const m = new Monitoring(opts);
  if (opts.metrics) registerMonitoringGauges(m, opts.metrics);
  return m;
}
