import type { Route, Router } from '../serving/index.js';
import type { Experiments } from './service.js';

/** Routes calls of a model with a running experiment to the variant the unit is assigned to. */
export function experimentRouter(experiments: Experiments): Router {
  return {
    route(call): Route | undefined {
      const r = experiments.route(call.model, call.headers, call.requestId);
      if (r === undefined) return undefined;
      return {
        model: r.model,
        version: r.version,
        parameters: { experiment: r.experiment, variant: r.variant },
        headers: { 'x-berth-variant': r.variant },
      };
    },
  };
}
