/** Shapes of rollouts: what a deployment is, the events it raises, and the store that keeps both. */

export const STRATEGIES = ['blue-green', 'canary', 'shadow'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/**
 * `pending`: recorded, not started by a server yet. `warming`: candidate loading and running warm-up
 * inferences, no traffic. `running`: taking its share (canary), switching (blue-green) or copying
 * traffic (shadow). `paused`: held at its weight (the SLO guard still watches). Final: `promoted`,
 * `rolled_back`, `completed` (a shadow that ran its duration), `failed` (candidate never got healthy).
 */
export const STATUSES = ['pending', 'warming', 'running', 'paused', 'promoted', 'rolled_back', 'completed', 'failed'] as const;
export type DeploymentStatus = (typeof STATUSES)[number];

/** Statuses in which a deployment owns its model's traffic policy. */
export const ACTIVE: readonly DeploymentStatus[] = ['pending', 'warming', 'running', 'paused'];

/** The service-level objective a candidate is held to. */
export interface Slo {
  /** p95 latency ceiling in ms (null: only the comparison with the stable version). */
  p95_ms: number | null;
  /** Largest share of failed calls (5xx), 0..1. */
  error_rate: number;
  /** Fewest candidate calls in a window before it is judged. */
  min_requests: number;
}

/** What `berth deploy` and `POST /api/v1/deployments` take. */
export interface DeploymentInput {
  model: string;
  version: number | string;
  strategy: Strategy | string;
  /** Canary weights in percent, e.g. [5, 25, 50, 100] or "5,25,50,100". */
  steps?: number[] | string;
  /** "30s", "300ms", "2m", or a number of seconds. */
  step_interval?: string | number;
  slo_p95_ms?: number;
  slo_error_rate?: number;
  min_requests?: number;
  /** URLs that receive every event of this deployment as a JSON POST. */
  webhooks?: string[];
  /** How long the replaced version stays loaded after a switch or promotion (default 5m). */
  grace?: string | number;
  /** Shadow only: stop after this long (default: until rolled back). */
  duration?: string | number;
  /** Warm-up inferences before any traffic (default 5). */
  warmup_requests?: number;
  actor?: string;
}

/** Agreement between the shadow and the stable version over the copies it ran. */
export interface ShadowStats {
  /** Copies run on the candidate and compared. */
  compared: number;
  /** Copies whose every output matched the stable one within tolerance. */
  agreed: number;
  /** compared > 0 ? agreed / compared : null. */
  agreement_rate: number | null;
  /** Share of copies with the same argmax per row, over outputs with 2+ classes (null when none have). */
  argmax_agreement_rate: number | null;
  /** Copies the candidate failed on. */
  errors: number;
  /** Copies dropped because the shadow fell behind. */
  dropped: number;
  stable_p95_ms: number | null;
  shadow_p95_ms: number | null;
}

/** Latency and errors of one version over the current window. */
export interface WindowStats {
  version: number;
  requests: number;
  errors: number;
  error_rate: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
}

/** One rollout of a candidate version of a model. */
export interface Deployment {
  id: number;
  model: string;
  strategy: Strategy;
  /** The version serving when the rollout began. */
  stable_version: number;
  candidate_version: number;
  status: DeploymentStatus;
  /** The candidate's share of unversioned calls now, percent. */
  weight: number;
  steps: number[];
  /** Index into steps of the step in progress (-1 before the first). */
  step: number;
  /** Index of the last step the candidate passed (-1: none). */
  passed_step: number;
  step_interval_ms: number;
  slo: Slo;
  grace_ms: number;
  duration_ms: number | null;
  warmup_requests: number;
  webhooks: string[];
  /** Why it ended or is paused (breach, user, restart). */
  reason: string | null;
  /** Set when a server restart interrupted the rollout and brought it back in its last safe state. */
  recovered_at: string | null;
  shadow: ShadowStats | null;
  actor: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

/** The mutable part of a deployment. */
export type DeploymentPatch = Partial<
  Pick<Deployment, 'status' | 'weight' | 'step' | 'passed_step' | 'reason' | 'recovered_at' | 'shadow' | 'finished_at'>
>;

export const EVENT_TYPES = [
  'created',
  'warming',
  'warmed',
  'warmup_failed',
  'step',
  'step_passed',
  'alias_moved',
  'switched',
  'promoted',
  'slo_breach',
  'rolled_back',
  'paused',
  'resumed',
  'recovered',
  'shadow_report',
  'completed',
  'unloaded',
] as const;
export type DeployEventType = (typeof EVENT_TYPES)[number];

/** One entry of a model's deployment event log (also the body POSTed to webhooks). */
export interface DeployEvent {
  id: number;
  model: string;
  deployment_id: number;
  type: DeployEventType;
  message: string;
  data: Record<string, unknown>;
  at: string;
}

/** Durable deployments and events; one implementation per engine. */
export interface DeploymentStore {
  create(d: Omit<Deployment, 'id'>): Promise<Deployment>;
  get(id: number): Promise<Deployment | undefined>;
  /** The model's newest deployment. */
  latest(model: string): Promise<Deployment | undefined>;
  /** Every deployment, newest first (optionally one model's). */
  list(model?: string): Promise<Deployment[]>;
  /** Deployments that still own their model's traffic. */
  active(): Promise<Deployment[]>;
  /**
   * Applies the patch if the deployment's status is one of `from` (any when omitted); returns the
   * updated deployment, or undefined when the status had moved on (another process got there first).
   */
  update(id: number, patch: DeploymentPatch, from?: readonly DeploymentStatus[]): Promise<Deployment | undefined>;
  addEvent(e: Omit<DeployEvent, 'id'>): Promise<DeployEvent>;
  /** The model's events, oldest first, after event id `after`. */
  events(model: string, after?: number, limit?: number): Promise<DeployEvent[]>;
  /** True once per change made by another connection since the last call. */
  changedElsewhere(): boolean;
  close(): Promise<void>;
}
