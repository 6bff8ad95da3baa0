import type { MetricKind } from './analyze.js';

/** One arm of an experiment: the model version that serves it and its share of traffic. */
export interface VariantSpec {
  name: string;
  model: string;
  version: number;
  /** Relative weight in the split (the weights need not sum to 100). */
  weight: number;
}

/** What a user asks for when creating an experiment. */
export interface ExperimentInput {
  name: string;
  /** The model name whose unversioned requests the experiment splits. */
  model: string;
  /** `name=MODEL:VERSION` (or `name=MODEL@alias`, pinned at creation); objects are taken as they are. */
  variants: (string | { name: string; ref: string })[];
  /** Weights in variant order, e.g. `50,50`; equal when absent. */
  split?: string | number[];
  /** Where the unit id comes from: `header:NAME`. */
  unit: string;
  metric: MetricKind;
  alpha?: number;
  /** Minimum detectable effect, absolute (0.02 = two percentage points for a binary metric). */
  mde?: number;
  power?: number;
  /** The control variant: default the one named `control`, else the first. */
  control?: string;
}

/** Whether the experiment still assigns new units. */
export type ExperimentStatus = 'running' | 'stopped';

/** A stored experiment. */
export interface Experiment {
  name: string;
  model: string;
  /** Control first, then the others in the order given. */
  variants: VariantSpec[];
  control: string;
  /** The header (lower case) that carries the unit id. */
  unit_header: string;
  metric: MetricKind;
  alpha: number;
  power: number;
  mde: number | null;
  status: ExperimentStatus;
  created_at: string;
  stopped_at: string | null;
}

/** Sufficient statistics of one arm, kept incrementally: n units, Σx and Σx² of their values. */
export interface ArmTotals {
  variant: string;
  n: number;
  sum: number;
  sumsq: number;
  /** Running minimum of the mSPRT p-value of this arm against the control (1 for the control). */
  msprt_p: number;
}

/** One outcome: for a unit, or for the unit behind a response's request id. */
export type OutcomeInput = { unit_id: string; value: number } | { request_id: string; value: number };

/** What a batch of outcomes did. */
export interface OutcomeResult {
  accepted: number;
  /** Indexes of items whose request id (or, once stopped, unit id) the experiment never saw. */
  unmatched: number[];
}

/** One assignment recorded by the routing hook. */
export interface Exposure {
  unitId: string;
  variant: string;
  requestId?: string;
}

/**
 * Storage of experiments, their assignments and per-arm sufficient statistics. A unit's value is
 * folded in as outcomes arrive, so a report reads one row per arm and never scans outcomes.
 */
export interface ExperimentStore {
  create(e: Experiment): Promise<void>;
  get(name: string): Promise<Experiment | undefined>;
  list(): Promise<Experiment[]>;
  stop(name: string, at: string): Promise<Experiment>;
  /**
   * Records exposures: new units join their arm (n + 1); request ids map to units (the first mapping
   * of an id wins). Resolves once they are written. Calls may overlap; their writes apply in call
   * order, and `recordOutcomes` and `totals` see every exposure of calls made before them.
   */
  expose(experiment: Experiment, exposures: Exposure[]): Promise<void>;
  /**
   * Folds outcomes in, all or nothing: `unitFor` maps a request id to its unit, a value updates the
   * unit's value by the metric's rule, and the arm's Σx and Σx² by the change.
   */
  recordOutcomes(
    experiment: Experiment,
    items: { unitId?: string; requestId?: string; value: number; variant?: string }[],
    assignNew: boolean,
  ): Promise<OutcomeResult>;
  totals(name: string): Promise<ArmTotals[]>;
  /** Stores the running minimum of the mSPRT p-value per arm. */
  saveMsprt(name: string, values: Map<string, number>): Promise<void>;
  /** Changes made by other connections since the last call (cheap: SQLite's data_version). */
  changedElsewhere(): boolean;
  close(): Promise<void>;
}
