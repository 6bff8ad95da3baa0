export {
  DTYPES,
  type EntityDef,
  type FeatureDtype,
  type FeatureRef,
  type FeatureRepo,
  type FeatureServiceDef,
  type FeatureViewDef,
  loadRepoFile,
  parseRepo,
  parseTtl,
  type SourceDef,
} from './definitions.js';
export { type ApplyResult, FeatureStore, type FeatureStoreOptions, type OnlineFeaturesRequest, openFeatureStore } from './feature-store.js';
export { featuresPlugin, type FeaturesPluginOptions } from './http.js';
export { compileLayout, type Layout, parseRefs } from './layout.js';
export type { MaterializeReport, ProgressFn } from './materialize.js';
export type { HistoricalResult } from './offline/index.js';
export type { FeatureStatus, FeatureVector, OnlineFeaturesResponse } from './online-read.js';
export { entityKey, type OnlineKey, type OnlineRecord, type OnlineStore, type OnlineWrite, openOnlineStore, RedisOnlineStore, SqliteOnlineStore } from './online/index.js';
export { parseTime, type PushRequest } from './push.js';
export type { PlanAction, PlanItem } from './registry.js';
