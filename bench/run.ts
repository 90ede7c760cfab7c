// `npm run bench`: runs every benchmark in bench/ and prints its figures (not part of the pass/fail suite).

import "../local/shims/node20.ts";
import type { BenchResult } from "./types.ts";

// The functions' own log lines would drown the figures; the suites are imported below, after this is set.
process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";

const suites: Record<string, () => Promise<{ run(): Promise<BenchResult[]> }>> = {
  pattern: () => import("./pattern.bench.ts"),
  bus: () => import("./bus.bench.ts"),
  promotion: () => import("./promotion.bench.ts"),
  approval: () => import("./approval.bench.ts"),
  rotation: () => import("./rotation.bench.ts"),
  snapshot: () => import("./snapshot.bench.ts"),
  incident: () => import("./incident.bench.ts"),
};

const only = process.argv.slice(2);
const unknown = only.filter((name) => !(name in suites));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark(s): ${unknown.join(", ")}; available: ${Object.keys(suites).join(", ")}\n`,
  );
  process.exit(2);
}

for (const [name, load] of Object.entries(suites)) {
  if (only.length > 0 && !only.includes(name)) continue;
  const results = await (await load()).run();
  for (const result of results) {
    const target = result.target === undefined ? "" : `   (target ${result.target})`;
    process.stdout.write(
      `${result.name.padEnd(72)} ${result.value.toLocaleString("en").padStart(12)} ${result.unit}${target}\n`,
    );
  }
}
