// The whole test suite behind `npm test`: type-check, lint, ASL lint, every vitest project, one full cdk synth.
// Ends with one line "N passed, N failed" (", N skipped" when any) counting every test and check.

import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";

const resultsDir = "test-results";
const vitestReport = `${resultsDir}/vitest.json`;
mkdirSync(resultsDir, { recursive: true });
rmSync(vitestReport, { force: true });

/** Checks that are one pass/fail each; vitest reports its own counts. */
const checks = [
  { name: "type-check (tsc --noEmit)", command: ["npx", "tsc", "--noEmit", "-p", "tsconfig.json"] },
  { name: "lint (biome check)", command: ["npx", "biome", "check", "."] },
  { name: "ASL lint (workflows/)", command: ["npx", "tsx", "scripts/lint-asl.ts"] },
  {
    name: "tests (vitest)",
    command: [
      "npx",
      "vitest",
      "run",
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${vitestReport}`,
    ],
    vitest: true,
  },
  // The one full synth: CloudFormation validation, cdk-nag and real esbuild bundling of every function.
  {
    name: "cdk synth with cdk-nag",
    command: ["npx", "cdk", "synth", "--quiet"],
    env: { CDK_VALIDATION: "true" },
  },
];

let passed = 0;
let failed = 0;
let skipped = 0;
const summary = [];

for (const check of checks) {
  const started = Date.now();
  process.stdout.write(`\n=== ${check.name}\n`);
  const run = spawnSync(check.command[0], check.command.slice(1), {
    stdio: "inherit",
    env: { ...process.env, ...check.env },
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const ok = run.status === 0;
  if (check.vitest) {
    let report;
    try {
      report = JSON.parse(readFileSync(vitestReport, "utf8"));
    } catch {
      report = undefined;
    }
    if (report) {
      passed += report.numPassedTests;
      failed += report.numFailedTests;
      skipped += report.numPendingTests + report.numTodoTests;
      // A suite that fails to load has no tests to count: count it as a failure so it cannot hide.
      failed += report.testResults.filter(
        (r) => r.status === "failed" && r.assertionResults.length === 0,
      ).length;
    } else {
      failed += 1;
    }
    if (
      !ok &&
      report &&
      report.numFailedTests === 0 &&
      report.testResults.every((r) => r.status !== "failed")
    )
      failed += 1;
  } else if (ok) passed += 1;
  else failed += 1;
  summary.push(`${ok ? "ok  " : "FAIL"} ${check.name} (${seconds} s)`);
}

process.stdout.write(`\n${summary.join("\n")}\n`);
process.stdout.write(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}\n`);
process.exitCode = failed > 0 ? 1 : 0;
