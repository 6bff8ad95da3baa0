/**
 * A Grafana dashboard over Berth's Prometheus metrics: latency, throughput, errors, batching, models
 * loaded, and the drift and accuracy gauges that live monitoring exports. The datasource is a
 * template variable, so the JSON imports into any Grafana with a Prometheus datasource.
 */

interface Panel {
  id: number;
  type: 'timeseries' | 'stat';
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: typeof DS;
  fieldConfig: { defaults: { unit: string }; overrides: [] };
  targets: { refId: string; expr: string; legendFormat: string }[];
}

// Grafana's own variable syntax, not a template literal
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana variable reference
const DS = { type: 'prometheus', uid: '${datasource}' } as const;

/** The panels: [title, unit, [expr, legend]...]. `$model` filters by the model variable. */
const PANELS: [string, string, [string, string][]][] = [
  [
    'Requests per second',
    'reqps',
    [['sum by (model, version) (rate(berth_inference_requests_total{model=~"$model"}[$__rate_interval]))', '{{model}}:{{version}}']],
  ],
  [
    'Error rate',
    'percentunit',
    [
      [
        'sum by (model, version) (rate(berth_inference_requests_total{model=~"$model",status!="200"}[$__rate_interval])) / sum by (model, version) (rate(berth_inference_requests_total{model=~"$model"}[$__rate_interval]))',
        '{{model}}:{{version}}',
      ],
    ],
  ],
  [
    'Latency p50 / p95 / p99',
    's',
    ['0.5', '0.95', '0.99'].map((q): [string, string] => [
      `histogram_quantile(${q}, sum by (le, model, version) (rate(berth_inference_duration_seconds_bucket{model=~"$model"}[$__rate_interval])))`,
      `p${Number(q) * 100} {{model}}:{{version}}`,
    ]),
  ],
  [
    'Rows per model run (batching)',
    'short',
    [
      [
        'sum by (model, version) (rate(berth_batch_size_sum{model=~"$model"}[$__rate_interval])) / sum by (model, version) (rate(berth_batch_size_count{model=~"$model"}[$__rate_interval]))',
        '{{model}}:{{version}}',
      ],
    ],
  ],
  ['Drift score by column', 'short', [['max by (model, version, column, method) (berth_drift_score{model=~"$model"})', '{{model}}:{{version}} {{column}} ({{method}})']]],
  ['Dataset drift detected', 'short', [['max by (model, version) (berth_drift_detected{model=~"$model"})', '{{model}}:{{version}}']]],
  ['Accuracy (delayed labels)', 'percentunit', [['max by (model, version) (berth_accuracy{model=~"$model"})', '{{model}}:{{version}}']]],
  ['Models loaded', 'short', [['sum(berth_models_loaded)', 'loaded']]],
];

/** The dashboard JSON (Grafana's import format). */
export function grafanaDashboard(title = 'Berth'): Record<string, unknown> {
  const panels: Panel[] = PANELS.map(([name, unit, queries], i) => ({
    id: i + 1,
    type: name === 'Models loaded' || name === 'Dataset drift detected' ? 'stat' : 'timeseries',
    title: name,
    gridPos: { x: (i % 2) * 12, y: Math.floor(i / 2) * 8, w: 12, h: 8 },
    datasource: DS,
    fieldConfig: { defaults: { unit }, overrides: [] },
    targets: queries.map(([expr, legendFormat], j) => ({ refId: String.fromCharCode(65 + j), expr, legendFormat })),
  }));
  return {
    title,
    uid: 'berth-overview',
    tags: ['berth', 'mlops'],
    timezone: 'browser',
    schemaVersion: 39,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    templating: {
      list: [
        { name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus' },
        {
          name: 'model',
          type: 'query',
          datasource: DS,
          query: 'label_values(berth_inference_requests_total, model)',
          includeAll: true,
          multi: true,
          current: { text: 'All', value: '$__all' },
          refresh: 2,
        },
      ],
    },
    panels,
  };
}
