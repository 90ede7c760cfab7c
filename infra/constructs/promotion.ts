// The image-promotion capability's own resources (tables, GitHub secrets, cluster access) and who may use which.

import { Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import type { SwitchyardConfig } from "../../functions/core/config.ts";
import type { FunctionDefinition, FunctionName } from "../../functions/registry.ts";
import type { WorkflowName } from "../../workflows/registry.ts";
import { ClusterAccess } from "./cluster-access.ts";
import { GithubSecrets } from "./github-secrets.ts";
import { type PromotionTableAccess, PromotionTables } from "./promotion-tables.ts";
import { grantStart, type StartedWorkflow } from "./workflow-starts.ts";

/** What one function reaches besides its logs, its bus and its queue (which the generic constructs grant). */
export interface PromotionNeeds {
  promotionTable?: PromotionTableAccess;
  idempotencyTable?: true;
  webhookSecret?: true;
  githubToken?: true;
  /** Talks to Argo CD on the EKS cluster. */
  cluster?: true;
  /** Starts executions of these workflows (and reads them back when a start turns out to be a repeat). */
  startsWorkflows?: readonly StartedWorkflow[];
  /** Looks images up in the services' ECR repositories (DescribeImages). */
  imageRegistry?: true;
}

/**
 * Each promotion function's needs, as its handler's dependencies in `functions/wiring/aws.ts` show them: e.g.
 * `commitImagesDeps()` builds the promotion store and the GitHub writer (which reads the token), `watchSyncDeps()`
 * the EKS deploy target, the GitHub reader and the promotion store. Keyed by registry name, so a renamed function
 * fails to compile here. What the approval gate's own resources give (approval and freeze tables, link key, mail,
 * snapshots) is in `approvalGateNeeds` in approval-gate.ts.
 */
export const promotionNeeds = {
  "decide-promotion": { promotionTable: "readWrite", imageRegistry: true },
  "commit-images": { promotionTable: "readWrite", githubToken: true },
  // The deployment it reads tells a promotion superseded by a later commit of the same service.
  "watch-sync": { promotionTable: "read", githubToken: true, cluster: true },
  "finish-promotion": { promotionTable: "readWrite" },
  "ingest-github-webhook": { idempotencyTable: true, webhookSecret: true },
  "start-promotion": { startsWorkflows: ["promote-image", "production-sync"] },
  "promote-from-github": { startsWorkflows: ["promote-image"] },
  "get-promotions": { promotionTable: "read" },
  "list-environments": { promotionTable: "read" },
  "promote-next-environment": {
    promotionTable: "read",
    startsWorkflows: ["promote-image", "production-sync"],
  },
  "gate-promotion": { promotionTable: "readWrite" },
  "snapshot-before-change": { promotionTable: "readWrite" },
  // It reads the values file at the head when no deployment is recorded, for the request's "from".
  "request-approval": { promotionTable: "readWrite", githubToken: true },
  // `approvalDeps()` builds the promotion store, so the table's name is needed; expiring never touches it.
  "expire-approval": { promotionTable: "read" },
  "sync-application": { cluster: true },
  "revert-promotion": { promotionTable: "readWrite", githubToken: true },
  approvals: { promotionTable: "readWrite" },
  quarantine: { promotionTable: "readWrite" },
} as const satisfies Partial<Record<FunctionName, PromotionNeeds>>;

/** What the capability is wired to. */
export interface PromotionProps {
  /** The validated switchyard.yaml: secret names and Argo CD namespaces. */
  config: SwitchyardConfig;
  /** The EKS cluster running Argo CD (CDK context `eksClusterName`). */
  eksClusterName: string;
  /** The function registry, for construct ids. */
  definitions: Readonly<Record<string, FunctionDefinition>>;
  /** The function registered under a name. */
  function: (name: string) => lambda.Function;
  /** The state machine of a registry workflow. */
  workflow: (name: WorkflowName) => sfn.StateMachine;
}

/**
 * Creates the promotion store and idempotency tables, the GitHub webhook secret and token, and the cluster access,
 * and grants each function of `promotionNeeds` exactly its part, setting the matching variables in the same call.
 *
 * @example
 * new Promotion(this, "Promotion", {
 *   config, eksClusterName: "platform", definitions, function: (n) => fns.get(n), workflow: (n) => wfs.get(n),
 * });
 */
export class Promotion extends Construct {
  readonly tables: PromotionTables;
  readonly secrets: GithubSecrets;
  readonly cluster: ClusterAccess;

  constructor(scope: Construct, id: string, props: PromotionProps) {
    super(scope, id);
    this.tables = new PromotionTables(this, "Tables");
    this.secrets = new GithubSecrets(this, "GithubSecrets", {
      webhookSecretName: props.config.github.webhookSecret,
      tokenSecretName: props.config.github.tokenSecret,
      webhookSecretRotated: props.config.secrets.some((s) => s.name === props.config.github.webhookSecret),
    });
    this.cluster = new ClusterAccess(this, "Cluster", {
      clusterName: props.eksClusterName,
      argoCdNamespaces: [...new Set(props.config.environments.map((env) => env.argocd.namespace))],
    });

    for (const [name, needs] of Object.entries(promotionNeeds) as [FunctionName, PromotionNeeds][]) {
      const fn = props.function(name);
      if (needs.promotionTable) this.tables.grantPromotions(fn, needs.promotionTable);
      if (needs.idempotencyTable) this.tables.grantIdempotency(fn);
      if (needs.webhookSecret) this.secrets.grantReadWebhookSecret(fn);
      if (needs.githubToken) this.secrets.grantReadToken(fn);
      if (needs.cluster) this.cluster.grant(props.definitions[name]!.id, fn);
      if (needs.imageRegistry) grantDescribeImages(fn, props.config);
      for (const workflow of needs.startsWorkflows ?? []) {
        grantStart(fn, workflow, props.workflow(workflow));
      }
    }
  }
}

/** DescribeImages on exactly the ECR repositories switchyard.yaml's services deploy from. */
const grantDescribeImages = (fn: lambda.Function, config: SwitchyardConfig): void => {
  const repositories = [...new Set(config.services.map((service) => service.repository))];
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ["ecr:DescribeImages"],
      resources: repositories.map((repository) =>
        Stack.of(fn).formatArn({ service: "ecr", resource: "repository", resourceName: repository }),
      ),
    }),
  );
};
