export { alertsPlugin, type AlertsPluginOptions } from './http.js';
export { RemoteAlerts } from './remote.js';
export {
  type AlertAction,
  type AlertCondition,
  type AlertMetric,
  type AlertOperator,
  type AlertRule,
  checkRules,
  loadRulesFile,
  METRICS,
  OPERATORS,
  parseRules,
} from './rules.js';
export {
  type AlertListener,
  type AlertRuleView,
  AlertService,
  type AlertServiceOptions,
  type AlertsApi,
  type ApplyOutcome,
  type EventQuery,
  openAlerts,
  type RulesSource,
} from './service.js';
export { type AlertSignals, CallSignals, combineSignals, GaugeSignals } from './signals.js';
export type { AlertEvent, AlertPlanItem, AlertState } from './store.js';
