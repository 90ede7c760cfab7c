// What the benchmarks share: order statistics of samples, and a cheap look at the GitOps branch head.

import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The middle sample (the upper one of an even count).
 *
 * @example median([3, 1, 2]) // 2
 */
export const median = (values: readonly number[]): number => percentile(values, 0.5);

/**
 * The sample below which the fraction `p` of the samples lie.
 *
 * @example percentile(latenciesMs, 0.9)
 */
export const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
};

/**
 * The local GitOps branch head, read from the ref file: polling must not spawn git and compete for the CPU it measures.
 *
 * @example while (branchHead(home) === before) await pause();
 */
export const branchHead = (home: string, branch = "main"): string => {
  try {
    return readFileSync(join(home, "gitops", ".git", "refs", "heads", branch), "utf8").trim();
  } catch {
    return "";
  }
};
