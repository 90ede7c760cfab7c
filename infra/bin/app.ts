// CDK entry point: validates switchyard.yaml, builds the Switchyard stack and registers the cdk-nag packs.

import { resolve } from "node:path";
import { App, Tags, Validations } from "aws-cdk-lib";
import { ConfigError, SwitchyardError } from "../../functions/core/errors.ts";
import { loadConfig } from "../../functions/wiring/config.ts";
import { envNames } from "../../functions/wiring/env.ts";
import { rotationNetworkFromContext } from "../constructs/rotation-network.ts";
import { compliancePacks, SwitchyardStack } from "../stacks/switchyard-stack.ts";

/** The CDK context key naming the EKS cluster (cdk.json, or `cdk synth -c eksClusterName=...`). */
const eksClusterNameContextKey = "eksClusterName";

const main = (): void => {
  // The same variable the functions read, so one file can be synthesized, shipped and run.
  const configFile = process.env[envNames.config] ?? "switchyard.yaml";
  const config = loadConfig(configFile);

  // CloudFormation's built-in template validation (~5 s) runs at synth unless CDK_VALIDATION=false, which the
  // App reads itself (`cdk synth --no-validation` sets it): unit tests turn it off, `cdk synth` keeps it on.
  const app = new App();
  // Not in switchyard.yaml: which cluster a deployment talks to is the deployer's choice, like account and region.
  const eksClusterName: unknown = app.node.tryGetContext(eksClusterNameContextKey);
  if (typeof eksClusterName !== "string") {
    throw new ConfigError(
      `Set the EKS cluster running Argo CD in cdk.json's context "${eksClusterNameContextKey}" or with -c ${eksClusterNameContextKey}=<name>`,
    );
  }
  // Also the deployer's choice: the VPC, subnets and security groups that reach the databases it rotates.
  const rotationNetwork = rotationNetworkFromContext(app.node);
  new SwitchyardStack(app, "Switchyard", {
    description: "Switchyard: the event-driven control plane of the internal developer platform",
    configFile: resolve(configFile),
    eksClusterName,
    ...(rotationNetwork && { rotationNetwork }),
    env: {
      account: config.aws.account ?? process.env.CDK_DEFAULT_ACCOUNT,
      region: config.aws.region ?? process.env.CDK_DEFAULT_REGION,
    },
  });
  Tags.of(app).add("app", "switchyard");
  Validations.of(app).addPlugins(...compliancePacks(app));
};

try {
  main();
} catch (error) {
  // A bad configuration or registry is the user's to fix: the message says what and where; a stack trace
  // would only bury it. Anything else is a bug and keeps its trace.
  if (!(error instanceof SwitchyardError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
