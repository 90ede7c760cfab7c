// Test runner configuration: one run covers unit, contract, workflow, infra and end-to-end tests.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["./local/shims/node20.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { CDK_VALIDATION: "false", POWERTOOLS_DEV: "false", POWERTOOLS_LOG_LEVEL: "SILENT" },
  },
});
