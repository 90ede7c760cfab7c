// Access to the platform's EKS cluster for the functions that drive it: IAM to find it, an access entry to enter it.

import { CfnOutput, Lazy, Stack } from "aws-cdk-lib";
import * as eks from "aws-cdk-lib/aws-eks";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { stringify } from "yaml";
import type { SecretConsumer } from "../../functions/core/config.ts";
import { envNames } from "../../functions/wiring/env.ts";

/**
 * The Kubernetes group the Argo CD functions' access entries carry. It is not `system:`-prefixed (EKS refuses
 * those) and has no permission until a RoleBinding in each Argo CD namespace grants it one.
 */
export const argoCdAccessGroup = "switchyard-argocd-applications";

/** The Kubernetes verbs the Kubernetes adapter uses on Argo CD Applications: read status, patch refresh and sync. */
export const argoCdApplicationVerbs = ["get", "patch"] as const;

/**
 * The Kubernetes group of the secret-rollout functions' access entries: like `argoCdAccessGroup`, nothing until a
 * RoleBinding in each consumer namespace (switchyard.yaml `secrets[].consumers[].namespace`) grants it a Role.
 */
export const secretRolloutAccessGroup = "switchyard-secret-rollout";

/** The groups an access entry may carry. */
export type KubernetesGroup = typeof argoCdAccessGroup | typeof secretRolloutAccessGroup;

/**
 * What `KubernetesWorkloadTarget` does in a consumer's namespace: read and annotate (force-sync) the ExternalSecret,
 * read the Kubernetes Secret it writes (only to hash its data), read and patch (rollout restart) the Deployments.
 * Each rule is limited to the objects switchyard.yaml names (`resourceNames`).
 */
export const secretRolloutVerbs = {
  externalSecrets: ["get", "patch"],
  secrets: ["get"],
  deployments: ["get", "patch"],
} as const;

/** The name of every Role and RoleBinding Switchyard asks for, one per namespace and group. */
const roleName = {
  [argoCdAccessGroup]: "switchyard-applications",
  [secretRolloutAccessGroup]: "switchyard-secret-rollout",
};

/** A Kubernetes object of the RBAC manifest, as `kubectl apply` reads it. */
export type RbacObject = Record<string, unknown> & { kind: "Role" | "RoleBinding" };

const bindingFor = (group: KubernetesGroup, namespace: string): RbacObject => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "RoleBinding",
  metadata: { name: roleName[group], namespace },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: roleName[group] },
  subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: group }],
});

const roleFor = (group: KubernetesGroup, namespace: string, rules: unknown[]): RbacObject => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "Role",
  metadata: { name: roleName[group], namespace },
  rules,
});

const sorted = (values: Iterable<string>): string[] => [...new Set(values)].sort();

/**
 * The Roles and RoleBindings the functions' groups need, generated from switchyard.yaml: `get`/`patch` on Argo CD
 * Applications in each Argo CD namespace, and per consumer namespace exactly the ExternalSecrets, Secrets and
 * Deployments its consumers name. The Kubernetes Secret is assumed to carry its ExternalSecret's name (External
 * Secrets' default for `spec.target.name`); an ExternalSecret writing another Secret needs that name added.
 * It belongs with the cluster's other RBAC in the GitOps repository; `npx tsx infra/bin/rbac.ts` prints it.
 *
 * @example
 * rbacManifest({ argoCdNamespaces: ["argocd"], secretConsumers: config.secrets.flatMap((s) => s.consumers) });
 * // [Role switchyard-applications (argocd), RoleBinding …, Role switchyard-secret-rollout (checkout), RoleBinding …]
 */
export const rbacManifest = (scope: {
  argoCdNamespaces: readonly string[];
  secretConsumers: readonly SecretConsumer[];
}): RbacObject[] => {
  const argo = sorted(scope.argoCdNamespaces).flatMap((namespace) => [
    roleFor(argoCdAccessGroup, namespace, [
      { apiGroups: ["argoproj.io"], resources: ["applications"], verbs: [...argoCdApplicationVerbs] },
    ]),
    bindingFor(argoCdAccessGroup, namespace),
  ]);
  const rollout = sorted(scope.secretConsumers.map((c) => c.namespace)).flatMap((namespace) => {
    const consumers = scope.secretConsumers.filter((c) => c.namespace === namespace);
    const externalSecrets = sorted(consumers.map((c) => c.externalSecret));
    return [
      roleFor(secretRolloutAccessGroup, namespace, [
        {
          apiGroups: ["external-secrets.io"],
          resources: ["externalsecrets"],
          resourceNames: externalSecrets,
          verbs: [...secretRolloutVerbs.externalSecrets],
        },
        {
          apiGroups: [""],
          resources: ["secrets"],
          resourceNames: externalSecrets,
          verbs: [...secretRolloutVerbs.secrets],
        },
        {
          apiGroups: ["apps"],
          resources: ["deployments"],
          resourceNames: sorted(consumers.flatMap((c) => c.deployments)),
          verbs: [...secretRolloutVerbs.deployments],
        },
      ]),
      bindingFor(secretRolloutAccessGroup, namespace),
    ];
  });
  return [...argo, ...rollout];
};

/**
 * `rbacManifest` as one multi-document YAML file.
 *
 * @example writeFileSync("rbac/switchyard.yaml", rbacYaml({ argoCdNamespaces: ["argocd"], secretConsumers: [] }));
 */
export const rbacYaml = (scope: Parameters<typeof rbacManifest>[0]): string =>
  rbacManifest(scope)
    // Plain lists everywhere: the same names in two rules would otherwise become a YAML anchor and alias.
    .map((object) => stringify(object, { aliasDuplicateObjects: false }))
    .join("---\n");

/** Which cluster, and where Argo CD keeps its Applications (switchyard.yaml `environments[].argocd.namespace`). */
export interface ClusterAccessProps {
  clusterName: string;
  argoCdNamespaces: readonly string[];
}

/**
 * Grants functions the way into the cluster. IAM: `eks:DescribeCluster` on this one cluster (endpoint and CA); the
 * bearer token is a presigned STS GetCallerIdentity call and needs no permission. Kubernetes: one EKS access entry
 * per function role, carrying the groups of what it does (`argoCdAccessGroup`, `secretRolloutAccessGroup`).
 *
 * Why groups and not EKS access policies: the managed access policies that are not cluster-admin
 * (AmazonEKSEditPolicy, AmazonEKSAdminPolicy, ...) cover only built-in API groups, not `argoproj.io` or
 * `external-secrets.io`, and reach every Secret and Deployment of a namespace; AmazonEKSClusterAdminPolicy, even
 * scoped to the Argo CD namespace, would also hand over the repository and cluster credentials Argo CD keeps there
 * as Secrets. Each group gets exactly its verbs from a namespaced Role (`rbacManifest` generates them all from
 * switchyard.yaml), which belongs with the cluster's other RBAC in the GitOps repository:
 *
 * ```yaml
 * apiVersion: rbac.authorization.k8s.io/v1
 * kind: Role
 * metadata: { name: switchyard-applications, namespace: argocd }
 * rules:
 *   - { apiGroups: [argoproj.io], resources: [applications], verbs: [get, patch] }
 * ---
 * apiVersion: rbac.authorization.k8s.io/v1
 * kind: RoleBinding
 * metadata: { name: switchyard-applications, namespace: argocd }
 * roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: switchyard-applications }
 * subjects:
 *   - { apiGroup: rbac.authorization.k8s.io, kind: Group, name: switchyard-argocd-applications }
 * ---
 * # one per namespace of secrets[].consumers, naming the consumers' objects
 * apiVersion: rbac.authorization.k8s.io/v1
 * kind: Role
 * metadata: { name: switchyard-secret-rollout, namespace: checkout }
 * rules:
 *   - { apiGroups: [external-secrets.io], resources: [externalsecrets], resourceNames: [checkout-db], verbs: [get, patch] }
 *   - { apiGroups: [""], resources: [secrets], resourceNames: [checkout-db], verbs: [get] }
 *   - { apiGroups: [apps], resources: [deployments], resourceNames: [checkout-api, checkout-worker], verbs: [get, patch] }
 * ---
 * apiVersion: rbac.authorization.k8s.io/v1
 * kind: RoleBinding
 * metadata: { name: switchyard-secret-rollout, namespace: checkout }
 * roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: switchyard-secret-rollout }
 * subjects:
 *   - { apiGroup: rbac.authorization.k8s.io, kind: Group, name: switchyard-secret-rollout }
 * ```
 *
 * The cluster's authentication mode must include the EKS API (`API` or `API_AND_CONFIG_MAP`), and the cluster must
 * exist when the stack deploys: an access entry for a missing cluster fails the deployment.
 *
 * @example
 * const access = new ClusterAccess(this, "Cluster", { clusterName: "platform", argoCdNamespaces: ["argocd"] });
 * access.grant("WatchSync", fns.get("watch-sync"));
 * access.grant("WatchRollout", fns.get("watch-rollout"), secretRolloutAccessGroup);
 */
export class ClusterAccess extends Construct {
  readonly clusterArn: string;
  private readonly props: ClusterAccessProps;
  /** EKS allows one access entry per principal and cluster: a second grant adds its group to the first entry. */
  private readonly entries = new Map<string, { entry: eks.CfnAccessEntry; groups: KubernetesGroup[] }>();

  constructor(scope: Construct, id: string, props: ClusterAccessProps) {
    super(scope, id);
    this.props = props;
    this.clusterArn = Stack.of(this).formatArn({
      service: "eks",
      resource: "cluster",
      resourceName: props.clusterName,
    });
    new CfnOutput(this, "ArgoCdGroup", {
      description:
        `Kubernetes group of the Switchyard functions' EKS access entries; bind it to a Role allowing ` +
        `${argoCdApplicationVerbs.join(", ")} on applications.argoproj.io in namespace(s) ` +
        props.argoCdNamespaces.join(", "),
      value: argoCdAccessGroup,
    });
  }

  /**
   * Lets `fn` find the cluster and enter it as a member of `group`, and names the cluster in its environment.
   * `id` (the function's registry id) names the access entry's construct.
   */
  grant(id: string, fn: lambda.Function, group: KubernetesGroup = argoCdAccessGroup): eks.CfnAccessEntry {
    const known = this.entries.get(fn.node.addr);
    if (known) {
      if (!known.groups.includes(group)) known.groups.push(group);
      return known.entry;
    }
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["eks:DescribeCluster"], resources: [this.clusterArn] }),
    );
    fn.addEnvironment(envNames.eksClusterName, this.props.clusterName);
    const groups: KubernetesGroup[] = [group];
    const entry = new eks.CfnAccessEntry(this, `${id}AccessEntry`, {
      clusterName: this.props.clusterName,
      principalArn: fn.role!.roleArn,
      type: "STANDARD",
      // Produced at synth, after every grant: a later grant to the same function adds its group here.
      kubernetesGroups: Lazy.list({ produce: () => groups }),
    });
    this.entries.set(fn.node.addr, { entry, groups });
    return entry;
  }

  /**
   * Names `secretRolloutAccessGroup` and the namespaces its RoleBindings must cover in a stack output; nothing when
   * no secret has consumers.
   */
  describeSecretRollout(consumers: readonly SecretConsumer[]): void {
    if (consumers.length === 0) return;
    new CfnOutput(this, "SecretRolloutGroup", {
      description:
        "Kubernetes group of the secret-rollout functions' EKS access entries; bind it to a Role allowing get, " +
        "patch on their externalsecrets.external-secrets.io and deployments.apps and get on their secrets in " +
        `namespace(s) ${sorted(consumers.map((c) => c.namespace)).join(", ")} (npx tsx infra/bin/rbac.ts prints the YAML)`,
      value: secretRolloutAccessGroup,
    });
  }
}
