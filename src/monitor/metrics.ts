import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds; fine below a millisecond because small models answer in tens of microseconds. */
export const LATENCY_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
  2.5, 5, 10,
];

/** The server's Prometheus metrics, in a registry of their own (no global state, so tests can run several). */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly inferRequests: Counter<'model' | 'version' | 'status'>;
  readonly inferDuration: Histogram<'model' | 'version'>;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly modelsLoaded: Gauge;
  readonly modelLoads: Counter<'model' | 'version' | 'result'>;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.inferRequests = new Counter({
      name: 'berth_inference_requests_total',
      help: 'Inference requests by model, version and HTTP status.',
      labelNames: ['model', 'version', 'status'],
      registers,
    });
    this.inferDuration = new Histogram({
      name: 'berth_inference_duration_seconds',
      help: 'Time from request decoded to response encoded, in seconds.',
      labelNames: ['model', 'version'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.httpRequests = new Counter({
      name: 'berth_http_requests_total',
      help: 'HTTP requests by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'berth_http_request_duration_seconds',
      help: 'HTTP request duration by method and route pattern, in seconds.',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.modelsLoaded = new Gauge({
      name: 'berth_models_loaded',
      help: 'Model versions loaded in memory and ready to serve.',
      registers,
    });
    this.modelLoads = new Counter({
      name: 'berth_model_loads_total',
      help: 'Model version loads by result (ok or error).',
      labelNames: ['model', 'version', 'result'],
      registers,
    });
    if (opts.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'berth_' });
      // prom-client names these gauges *_total, which Prometheus reserves for counters (promtool flags them)
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
        this.registry.removeSingleMetric(`berth_${name}`);
      }
    }
  }
}
