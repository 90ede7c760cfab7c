// The production DeployTarget and WorkloadTarget: the Kubernetes adapters on an EKS cluster, reached with IAM tokens.

import type { EKSClient } from "@aws-sdk/client-eks";
import type { KubeConfig } from "@kubernetes/client-node";
import type { AwsCredentialIdentityProvider } from "@smithy/types";
import type { DeployTarget, WorkloadTarget } from "../../core/ports.ts";
import { KubernetesDeployTarget, kubeConfigFor } from "../kubernetes/kubernetes-deploy-target.ts";
import { KubernetesWorkloadTarget } from "../kubernetes/kubernetes-workload-target.ts";
import { EksTokenProvider, eksClusterConnection } from "./eks-token.ts";

/** Where the cluster is and who asks. */
export interface EksClusterOptions {
  eks: EKSClient;
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentityProvider;
}

/**
 * A Kubernetes adapter for an EKS cluster, built on first use: the cluster's endpoint and CA come from
 * DescribeCluster (a failed lookup is retried on the next call); every request carries a fresh-enough EKS IAM token.
 */
const lazyEksAdapter = <T>(
  options: EksClusterOptions,
  build: (config: KubeConfig) => T,
): (() => Promise<T>) => {
  const tokens = new EksTokenProvider({
    clusterName: options.clusterName,
    region: options.region,
    credentials: options.credentials,
  });
  let adapter: Promise<T> | undefined;
  return () => {
    adapter ??= eksClusterConnection({ eks: options.eks, clusterName: options.clusterName }).then(
      (connection) => build(kubeConfigFor({ ...connection, token: () => tokens.getToken() })),
      (error: unknown) => {
        adapter = undefined;
        throw error;
      },
    );
    return adapter;
  };
};

/**
 * A DeployTarget (Argo CD Applications) on an EKS cluster.
 *
 * @example
 * const target = eksDeployTarget({ eks: new EKSClient({}), clusterName: "platform", region, credentials: fromNodeProviderChain() });
 * await target.getApplication("argocd", "checkout-staging");
 */
export const eksDeployTarget = (options: EksClusterOptions): DeployTarget => {
  const connect = lazyEksAdapter(options, (config) => new KubernetesDeployTarget(config));
  return {
    getApplication: async (namespace, name) => (await connect()).getApplication(namespace, name),
    refreshApplication: async (namespace, name, mode) =>
      (await connect()).refreshApplication(namespace, name, mode),
    syncApplication: async (namespace, name, sync) =>
      (await connect()).syncApplication(namespace, name, sync),
  };
};

/**
 * A WorkloadTarget (ExternalSecrets, Secrets, Deployments) on an EKS cluster.
 *
 * @example
 * const workloads = eksWorkloadTarget({ eks: new EKSClient({}), clusterName: "platform", region, credentials });
 * await workloads.restartDeployment("checkout", "checkout-api", new Date().toISOString());
 */
export const eksWorkloadTarget = (options: EksClusterOptions): WorkloadTarget => {
  const connect = lazyEksAdapter(options, (config) => new KubernetesWorkloadTarget(config));
  return {
    getExternalSecret: async (namespace, name) => (await connect()).getExternalSecret(namespace, name),
    forceSyncExternalSecret: async (namespace, name, value) =>
      (await connect()).forceSyncExternalSecret(namespace, name, value),
    secretDataHash: async (namespace, name) => (await connect()).secretDataHash(namespace, name),
    restartDeployment: async (namespace, name, at) =>
      (await connect()).restartDeployment(namespace, name, at),
    getDeployment: async (namespace, name) => (await connect()).getDeployment(namespace, name),
  };
};
