// Prints the Kubernetes Roles and RoleBindings the functions' EKS groups need, generated from switchyard.yaml.

import { SwitchyardError } from "../../functions/core/errors.ts";
import { loadConfig } from "../../functions/wiring/config.ts";
import { envNames } from "../../functions/wiring/env.ts";
import { rbacYaml } from "../constructs/cluster-access.ts";

/**
 * `npx tsx infra/bin/rbac.ts > rbac/switchyard.yaml`: the manifest to commit to the GitOps repository with the
 * cluster's other RBAC, for the configuration `cdk deploy` ships (`SWITCHYARD_CONFIG`, default switchyard.yaml).
 */
const main = (): void => {
  const config = loadConfig(process.env[envNames.config] ?? "switchyard.yaml");
  process.stdout.write(
    rbacYaml({
      argoCdNamespaces: config.environments.map((env) => env.argocd.namespace),
      secretConsumers: config.secrets.flatMap((secret) => secret.consumers),
    }),
  );
};

try {
  main();
} catch (error) {
  if (!(error instanceof SwitchyardError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
