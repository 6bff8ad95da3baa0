/** Rollouts: traffic policies, blue-green, canary and shadow deployments, the SLO guard, events and webhooks. */
export { type DeploymentsPluginOptions, deploymentsPlugin } from './http.js';
export { LiveTraffic } from './observer.js';
export { type Policy, TrafficPolicies } from './policy.js';
export { type DeploymentsApi, RemoteDeployments } from './remote.js';
export { sameArgmax, ShadowCopier, tensorsClose } from './shadow.js';
export { type DeploymentStatusView, Deployments, type DeploymentsOptions, openDeployments } from './service.js';
export { SqliteDeploymentStore } from './sqlite.js';
export {
  ACTIVE,
  type DeployEvent,
  type DeployEventType,
  type Deployment,
  type DeploymentInput,
  type DeploymentStatus,
  type DeploymentStore,
  type ShadowStats,
  type Slo,
  STRATEGIES,
  type Strategy,
  type WindowStats,
} from './types.js';
export { DEFAULTS, parseDurationField, parseSteps, validateInput } from './validate.js';
export { syntheticRequest, warmUp } from './warm.js';
export { CallRing, judge, SloWatch } from './window.js';
