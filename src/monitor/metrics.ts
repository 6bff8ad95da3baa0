import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { type HistogramSeries, HotCounter, HotHistogram } from './hot-metrics.js';

/** Seconds; fine below a millisecond because small models answer in tens of microseconds. */
export const LATENCY_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
  2.5, 5, 10,
];

/** The series one (model, version) or (method, route) pair writes on every request. */
interface PairSeries {
  duration: HistogramSeries;
  byStatus: Map<number, { value: number }>;
}

/** The server's Prometheus metrics, in a registry of their own (no global state, so tests can run several). */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly inferRequests: HotCounter;
  readonly inferDuration: HotHistogram;
  readonly httpRequests: HotCounter;
  readonly httpDuration: HotHistogram;
  readonly batchSize: HotHistogram;
  readonly batchQueue: HotHistogram;
  readonly batchCompute: HotHistogram;
  readonly batchRejected: HotCounter;
  readonly cacheHits: HotCounter;
  readonly cacheMisses: HotCounter;
  readonly modelsLoaded: Gauge;
  readonly modelLoads: Counter<'model' | 'version' | 'result'>;
  private readonly versions = new Map<string, PairSeries>();
  private readonly routes = new Map<string, PairSeries>();

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const r = this.registry;
    this.inferRequests = new HotCounter(
      'berth_inference_requests_total',
      'Inference requests by model, version and HTTP status.',
      ['model', 'version', 'status'],
      r,
    );
    this.inferDuration = new HotHistogram(
      'berth_inference_duration_seconds',
      'Time from request decoded to response encoded, in seconds.',
      ['model', 'version'],
      LATENCY_BUCKETS,
      r,
    );
    this.httpRequests = new HotCounter(
      'berth_http_requests_total',
      'HTTP requests by method, route pattern and status.',
      ['method', 'route', 'status'],
      r,
    );
    this.httpDuration = new HotHistogram(
      'berth_http_request_duration_seconds',
      'HTTP request duration by method and route pattern, in seconds.',
      ['method', 'route'],
      LATENCY_BUCKETS,
      r,
    );
    this.batchSize = new HotHistogram(
      'berth_batch_size',
      'Rows per model run when concurrent requests are joined into one run.',
      ['model', 'version'],
      [1, 2, 4, 8, 16, 32, 64, 128, 256],
      r,
    );
    this.batchQueue = new HotHistogram(
      'berth_batch_queue_seconds',
      'Time a request waited in the batch queue before its run started, in seconds.',
      ['model', 'version'],
      LATENCY_BUCKETS,
      r,
    );
    this.batchCompute = new HotHistogram(
      'berth_batch_compute_seconds',
      'Time of one model run (joined or not) sent by the batch queue, in seconds.',
      ['model', 'version'],
      LATENCY_BUCKETS,
      r,
    );
    this.batchRejected = new HotCounter(
      'berth_batch_rejected_total',
      'Requests refused with 503 because the batch queue was full.',
      ['model', 'version'],
      r,
    );
    this.cacheHits = new HotCounter(
      'berth_cache_hits_total',
      'Inference requests answered from the prediction cache.',
      ['model', 'version'],
      r,
    );
    this.cacheMisses = new HotCounter(
      'berth_cache_misses_total',
      'Inference requests the prediction cache could not answer (the model ran).',
      ['model', 'version'],
      r,
    );
    this.modelsLoaded = new Gauge({
      name: 'berth_models_loaded',
      help: 'Model versions loaded in memory and ready to serve.',
      registers: [r],
    });
    this.modelLoads = new Counter({
      name: 'berth_model_loads_total',
      help: 'Model version loads by result (ok or error).',
      labelNames: ['model', 'version', 'result'],
      registers: [r],
    });
    if (opts.defaultMetrics !== false) {
      collectDefaultMetrics({ register: r, prefix: 'berth_' });
      // prom-client names these gauges *_total, which Prometheus reserves for counters (promtool flags them)
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
        r.removeSingleMetric(`berth_${name}`);
      }
    }
  }

  /** Records one inference request: its outcome and (when it succeeded) its duration. */
  observeInference(model: string, version: string, status: number, seconds?: number): void {
    record(this.versions, this.inferRequests, this.inferDuration, model, version, status, seconds);
  }

  /** Records one HTTP request by route pattern. */
  observeHttp(method: string, route: string, status: number, seconds: number): void {
    record(this.routes, this.httpRequests, this.httpDuration, method, route, status, seconds);
  }
}

/** Counts a request under (a, b, status) and observes its duration under (a, b), caching the series. */
function record(
  cache: Map<string, PairSeries>,
  counter: HotCounter,
  histogram: HotHistogram,
  a: string,
  b: string,
  status: number,
  seconds: number | undefined,
): void {
  const key = `${a}\u0000${b}`;
  let s = cache.get(key);
  if (!s) {
    s = { duration: histogram.child(a, b), byStatus: new Map() };
    cache.set(key, s);
  }
  let c = s.byStatus.get(status);
  if (!c) {
    c = counter.child(a, b, String(status));
    s.byStatus.set(status, c);
  }
  c.value++;
  if (seconds !== undefined) s.duration.observe(seconds);
}
