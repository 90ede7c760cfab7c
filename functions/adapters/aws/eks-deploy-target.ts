// The production DeployTarget: the Kubernetes adapter on an EKS cluster, found by name and reached with IAM tokens.

import type { EKSClient } from "@aws-sdk/client-eks";
import type { AwsCredentialIdentityProvider } from "@smithy/types";
import type { DeployTarget } from "../../core/ports.ts";
import { KubernetesDeployTarget, kubeConfigFor } from "../kubernetes/kubernetes-deploy-target.ts";
import { EksTokenProvider, eksClusterConnection } from "./eks-token.ts";

/**
 * A DeployTarget for an EKS cluster. The cluster's endpoint and CA come from DescribeCluster on first use (a
 * failed lookup is retried on the next call); every request carries a fresh-enough EKS IAM token.
 *
 * @example
 * const target = eksDeployTarget({ eks: new EKSClient({}), clusterName: "platform", region, credentials: fromNodeProviderChain() });
 * await target.getApplication("argocd", "checkout-staging");
 */
export const eksDeployTarget = (options: {
  eks: EKSClient;
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentityProvider;
}): DeployTarget => {
  const tokens = new EksTokenProvider({
    clusterName: options.clusterName,
    region: options.region,
    credentials: options.credentials,
  });
  let target: Promise<KubernetesDeployTarget> | undefined;
  const connect = (): Promise<KubernetesDeployTarget> => {
    target ??= eksClusterConnection({ eks: options.eks, clusterName: options.clusterName }).then(
      (connection) =>
        new KubernetesDeployTarget(kubeConfigFor({ ...connection, token: () => tokens.getToken() })),
      (error: unknown) => {
        target = undefined;
        throw error;
      },
    );
    return target;
  };
  return {
    getApplication: async (namespace, name) => (await connect()).getApplication(namespace, name),
    refreshApplication: async (namespace, name, mode) =>
      (await connect()).refreshApplication(namespace, name, mode),
    syncApplication: async (namespace, name, sync) =>
      (await connect()).syncApplication(namespace, name, sync),
  };
};
