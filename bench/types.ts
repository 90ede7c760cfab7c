// The figure every benchmark reports, so one runner can print and compare them all.

/** One measured figure; `target` states the goal it is held to, when there is one (e.g. "≥ 150,000"). */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  target?: string;
}
