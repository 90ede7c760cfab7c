// `npm run lint:asl`: lints every workflow definition; prints each problem and exits 1 when there is any.

import { lintWorkflows } from "../local/asl-lint.ts";
import { localIntegrationResources, substitutionKeys } from "../local/integrations.ts";

const problems = lintWorkflows(process.cwd(), {
  extraSubstitutions: substitutionKeys,
  integrations: localIntegrationResources,
});
for (const problem of problems) process.stderr.write(`${problem}\n`);
process.stdout.write(
  problems.length === 0 ? "ASL lint: every workflow is clean\n" : `ASL lint: ${problems.length} problem(s)\n`,
);
process.exitCode = problems.length === 0 ? 0 : 1;
