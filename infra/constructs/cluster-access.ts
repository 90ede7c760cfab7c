// Access to the platform's EKS cluster for the functions that drive Argo CD: IAM to find it, an access entry to enter it.

import { CfnOutput, Stack } from "aws-cdk-lib";
import * as eks from "aws-cdk-lib/aws-eks";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { envNames } from "../../functions/wiring/env.ts";

/**
 * The Kubernetes group the functions' access entries carry. It is not `system:`-prefixed (EKS refuses those) and
 * has no permission until a RoleBinding in each Argo CD namespace grants it one.
 */
export const argoCdAccessGroup = "switchyard-argocd-applications";

/** The Kubernetes verbs the Kubernetes adapter uses on Argo CD Applications: read status, patch refresh and sync. */
export const argoCdApplicationVerbs = ["get", "patch"] as const;

/** Which cluster, and where Argo CD keeps its Applications (switchyard.yaml `environments[].argocd.namespace`). */
export interface ClusterAccessProps {
  clusterName: string;
  argoCdNamespaces: readonly string[];
}

/**
 * Grants functions the way into the cluster. IAM: `eks:DescribeCluster` on this one cluster (endpoint and CA); the
 * bearer token is a presigned STS GetCallerIdentity call and needs no permission. Kubernetes: an EKS access entry
 * for the function's role in the group `argoCdAccessGroup`.
 *
 * Why a group and not an EKS access policy: the managed access policies that are not cluster-admin
 * (AmazonEKSEditPolicy, AmazonEKSAdminPolicy, ...) cover only built-in API groups, not `argoproj.io`, and
 * AmazonEKSClusterAdminPolicy, even scoped to the Argo CD namespace, would also hand over the repository and cluster
 * credentials Argo CD keeps there as Secrets. The group gets exactly `get` and `patch` on Applications from a
 * namespaced Role, which belongs with the cluster's other RBAC in the GitOps repository:
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
 * ```
 *
 * The cluster's authentication mode must include the EKS API (`API` or `API_AND_CONFIG_MAP`), and the cluster must
 * exist when the stack deploys: an access entry for a missing cluster fails the deployment.
 *
 * @example
 * const access = new ClusterAccess(this, "Cluster", { clusterName: "platform", argoCdNamespaces: ["argocd"] });
 * access.grant("WatchSync", fns.get("watch-sync"));
 */
export class ClusterAccess extends Construct {
  readonly clusterArn: string;
  private readonly props: ClusterAccessProps;

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
   * Lets `fn` find the cluster and enter it as a member of `argoCdAccessGroup`, and names the cluster in its
   * environment. `id` (the function's registry id) names the access entry's construct.
   */
  grant(id: string, fn: lambda.Function): eks.CfnAccessEntry {
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["eks:DescribeCluster"], resources: [this.clusterArn] }),
    );
    fn.addEnvironment(envNames.eksClusterName, this.props.clusterName);
    return new eks.CfnAccessEntry(this, `${id}AccessEntry`, {
      clusterName: this.props.clusterName,
      principalArn: fn.role!.roleArn,
      type: "STANDARD",
      kubernetesGroups: [argoCdAccessGroup],
    });
  }
}
