/** Serving: the V2 REST and gRPC front ends over one inference path, and the seams other capabilities plug into. */
export {
  type CallHeaders,
  describeModel,
  type InferCall,
  type InferDeps,
  type InferenceEvent,
  type InferenceObserver,
  type Route,
  type Router,
  runInference,
} from './infer.js';
export { type ModelState, ModelManager } from './models.js';
export {
  DEFAULT_SERVING_CONFIG,
  type ModelServingConfig,
  readServingConfigFile,
  SERVING_TAGS,
  servingConfig,
  servingConfigFromTags,
  servingTagsFromConfig,
  validateServingTags,
} from './model-config.js';
export { V2_EXTENSIONS, type V2Options, v2RestPlugin } from './rest.js';
export { type GrpcServerOptions, type RunningGrpcServer, startGrpcServer } from './grpc/index.js';

import type { Router } from './infer.js';

/** A router that asks each router in turn (the array may grow later); the first route given wins. */
export function firstRoute(routers: Router[]): Router {
  return {
    route(call) {
      for (const r of routers) {
        const route = r.route(call);
        if (route !== undefined) return route;
      }
      return undefined;
    },
  };
}
