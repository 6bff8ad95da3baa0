/** Live monitoring: prediction logging, live and concept drift, delayed labels, reports. */
export type { FeedbackResult } from './feedback/join.js';
export { FEATURE_NAMES_TAG, PREDICTION_COLUMN } from './logging/layout.js';
export { KLL_DEFAULT_K, KLL_RANK_ERROR, KllSketch } from './live/kll.js';
export { monitoringPlugin } from './live/http.js';
export { formatWindow, type LiveDriftReport, type PerformanceReport, parseWindow } from './live/queries.js';
export { monitorReport, type MonitorReportOptions, renderMonitorHtml, windowFlag } from './live/report.js';
export { MONITORING_DEFAULTS, Monitoring, type MonitoringOptions, openMonitoring } from './live/service.js';
export { precomputeReferencePredictions } from './live/reference.js';
