/** Drift methods: `auto` picks per column, as Evidently does. */
export const DRIFT_METHODS = ['auto', 'ks', 'chi2', 'wasserstein', 'jensenshannon', 'psi'] as const;
export type DriftMethod = (typeof DRIFT_METHODS)[number];
export type ConcreteMethod = Exclude<DriftMethod, 'auto'>;
export type ColumnKind = 'numerical' | 'categorical';

/** What `berth drift` compares and how. */
export interface DriftOptions {
  reference: string;
  current: string;
  /** Columns to compare (default: every reference column). */
  columns?: string[];
  /** Columns to treat as categorical whatever their type. */
  categorical?: string[];
  method?: DriftMethod;
  /** Share of drifted columns at or above which the dataset drifts (default 0.5). */
  driftShare?: number;
}

/** One column's verdict, in the JSON shape of `berth drift --json`. */
export interface ColumnDrift {
  column: string;
  kind: ColumnKind;
  method: ConcreteMethod;
  statistic: number | null;
  p_value: number | null;
  threshold: number;
  drift: boolean;
  missing_reference: number;
  missing_current: number;
}

/** The report `berth drift --json` prints. */
export interface DriftReport {
  reference_rows: number;
  current_rows: number;
  columns: ColumnDrift[];
  drifted_columns: number;
  drift_share: number;
  dataset_drift: boolean;
}

/** Per-column distributions for charts (reference and current share one binning). */
export type ColumnChart =
  | { kind: 'numerical'; edges: number[]; reference: number[]; current: number[] }
  | { kind: 'categorical'; categories: string[]; reference: number[]; current: number[] };

/** A report plus what the HTML rendering needs. */
export interface DriftResult {
  report: DriftReport;
  charts: ColumnChart[];
  /** The dataset drift threshold used. */
  driftShareThreshold: number;
  reference: string;
  current: string;
}
