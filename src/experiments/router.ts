import type { Route, Router } from '../serving/index.js';
import type { Experiments, RoutedRequest } from './service.js';

/** Routes calls of a model with a running experiment to the variant the unit is assigned to. */
export function experimentRouter(experiments: Experiments): Router {
  // `route` answers one shared object per variant, so each variant's Route (response parameters and
  // header included) is built once, not per call; it goes when the experiment's answers do
  const routes = new WeakMap<RoutedRequest, Route>();
  return {
    route(call): Route | undefined {
      const r = experiments.route(call.model, call.headers, call.requestId);
      if (r === undefined) return undefined;
      let route = routes.get(r);
      if (route === undefined) {
        route = Object.freeze({
          model: r.model,
          version: r.version,
          parameters: Object.freeze({ experiment: r.experiment, variant: r.variant }),
          headers: Object.freeze({ 'x-berth-variant': r.variant }),
        });
        routes.set(r, route);
      }
      return route;
    },
  };
}
