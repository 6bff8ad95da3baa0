import type { Route, Router } from '../serving/index.js';

/** A model's traffic policy: the stable version, and a candidate taking `weight` percent of calls. */
export interface Policy {
  /** The deployment that set it (a finished rollout must not clear its successor's policy). */
  owner: number;
  stable: Route;
  candidate: Route | undefined;
  weight: number;
}

/**
 * The traffic policies of models under a rollout, and the router that applies them. Models without a
 * policy are left to the default (champion, else newest). A policy change is one Map write, so a
 * switch is atomic for every call routed after it.
 */
export class TrafficPolicies implements Router {
  private readonly policies = new Map<string, Policy>();

  /** Pins the model to `stable`, sending `weight` percent of calls to `candidate`. */
  set(model: string, owner: number, stable: number, candidate?: number, weight = 0): void {
    const old = this.policies.get(model);
    // reuse the Route objects: the shadow copier recognises routed calls by identity
    const stableRoute = old?.stable.version === stable ? old.stable : { model, version: stable };
    const candidateRoute =
      candidate === undefined ? undefined : old?.candidate?.version === candidate ? old.candidate : { model, version: candidate };
    this.policies.set(model, { owner, stable: stableRoute, candidate: candidateRoute, weight: candidateRoute ? weight : 0 });
  }

  /** Hands the model back to the default resolution, if `owner` still holds its policy. */
  clear(model: string, owner: number): void {
    if (this.policies.get(model)?.owner === owner) this.policies.delete(model);
  }

  /** Every model's policy. */
  entries(): IterableIterator<[string, Policy]> {
    return this.policies.entries();
  }

  /** The model's policy, if it has one. */
  get(model: string): Policy | undefined {
    return this.policies.get(model);
  }

  /** Weighted choice per call with Math.random: canaries need a uniform share, not stickiness. */
  route(call: { model: string }): Route | undefined {
    const p = this.policies.get(call.model);
    if (p === undefined) return undefined;
    if (p.weight > 0 && p.candidate !== undefined && (p.weight >= 100 || Math.random() * 100 < p.weight)) return p.candidate;
    return p.stable;
  }
}
