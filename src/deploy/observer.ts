import type { InferRequest } from '../protocol/index.js';
import type { InferenceEvent, InferenceObserver, Route } from '../serving/index.js';
import type { ShadowCopier } from './shadow.js';
import { SloWatch } from './window.js';

/** Live requests kept per model for warm-up replay. */
const RECENT = 8;
/** Requests larger than this (elements) are not kept: a few could pin megabytes of request bodies. */
const RECENT_MAX_ELEMENTS = 65_536;

/**
 * The rollouts' one inference observer: per-version SLO windows, the last few successful requests of
 * each model (warm-up replays them) and copies of routed stable calls for a shadow. Synchronous and
 * cheap: a Map lookup per concern, no allocation unless a shadow is on.
 */
export class LiveTraffic implements InferenceObserver {
  readonly watch = new SloWatch();
  private readonly recent = new Map<string, { requests: InferRequest[]; next: number }>();
  private readonly shadows = new Map<string, { copier: ShadowCopier; stable: Route }>();

  observe(e: InferenceEvent): void {
    this.watch.observe(e);
    if (e.status !== 200 || e.request === undefined) return;
    const shadow = this.shadows.get(e.model);
    if (shadow !== undefined && e.route === shadow.stable && e.outputs !== undefined) {
      shadow.copier.offer(e.request.inputs, e.request.outputs?.map((o) => o.name), e.outputs, e.seconds * 1000);
    }
    let elements = 0;
    for (const t of e.request.inputs) elements += t.data.length;
    if (elements > RECENT_MAX_ELEMENTS) return;
    let r = this.recent.get(e.model);
    if (r === undefined) {
      if (this.recent.size > 10_000) this.recent.clear();
      r = { requests: [], next: 0 };
      this.recent.set(e.model, r);
    }
    r.requests[r.next] = e.request;
    r.next = (r.next + 1) % RECENT;
  }

  /** The model's last few successful requests, newest first. */
  recentRequests(model: string): InferRequest[] {
    const r = this.recent.get(model);
    if (r === undefined) return [];
    const out: InferRequest[] = [];
    for (let k = 1; k <= r.requests.length; k++) out.push(r.requests[(r.next - k + RECENT) % RECENT] as InferRequest);
    return out;
  }

  /** Sends copies of calls routed to `stable` to the copier (undefined stops copying). */
  setShadow(model: string, shadow: { copier: ShadowCopier; stable: Route } | undefined): void {
    if (shadow === undefined) this.shadows.delete(model);
    else this.shadows.set(model, shadow);
  }
}
