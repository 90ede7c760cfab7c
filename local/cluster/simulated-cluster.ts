// The simulated cluster in one call: stores, API server, Argo CD, External Secrets and Deployment controllers together.

import type { ClusterAccess } from "../../functions/adapters/kubernetes/kubernetes-deploy-target.ts";
import { argoApplication, type SwitchyardConfig } from "../../functions/core/config.ts";
import { startClusterApiServer } from "./api-server.ts";
import { ArgoSimulator, type ArgoSimulatorOptions, type SimulatedApplication } from "./argo-simulator.ts";
import { DeploymentSimulator, type SimulatedDeployment } from "./deployment-simulator.ts";
import {
  ExternalSecretsSimulator,
  type SecretProvider,
  type SimulatedExternalSecret,
} from "./external-secrets-simulator.ts";
import { createResourceVersions, type ObjectStore } from "./object-store.ts";
import { argoApplications, deployments, externalSecrets, secrets } from "./served-resources.ts";

/**
 * The bearer token the local runtime and its simulated cluster share. Not a secret: the server listens on the
 * loopback interface only, and the token exists so the real adapter's authentication path is exercised.
 */
export const localClusterToken = "switchyard-local-cluster-token";

/** The workloads that consume secrets, and what moves them. */
export interface SimulatedWorkloads {
  /** Created and synced once at start, each writing its target Secret. */
  externalSecrets?: readonly SimulatedExternalSecret[];
  /** Created at start, rolled out, each reading one Secret. */
  deployments?: readonly SimulatedDeployment[];
  /** Where ExternalSecrets read their remote keys (locally: the local SecretStore's AWSCURRENT value). */
  provider: SecretProvider;
  /** How long after a change (`force-sync`) an ExternalSecret syncs. Default 0: a later tick. */
  secretSyncDelayMs?: number;
  /** How long a Deployment rollout takes in all. Default 0: a few later ticks. */
  rolloutDelayMs?: number;
  /** Deployments whose rollouts get stuck (ProgressDeadlineExceeded); asked at the start of each rollout. */
  failing?: (deployment: { namespace: string; name: string }) => boolean;
}

export interface SimulatedClusterOptions extends Omit<ArgoSimulatorOptions, "store"> {
  /** Default `localClusterToken`. */
  token?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /**
   * ExternalSecrets, Secrets and Deployments to start with. Without it those resources are served empty, and an
   * ExternalSecret created later reports Ready False: there is no provider to read from.
   */
  workloads?: SimulatedWorkloads;
}

export interface SimulatedCluster {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** What `kubeConfigFor` needs to reach this cluster with the real Kubernetes adapter. */
  access: ClusterAccess;
  /** The Applications, for inspection (the dashboard, tests). */
  applications: ObjectStore;
  simulator: ArgoSimulator;
  /** ExternalSecrets, Secrets and Deployments, for inspection. */
  workloads: { externalSecrets: ObjectStore; secrets: ObjectStore; deployments: ObjectStore };
  externalSecretsSimulator: ExternalSecretsSimulator;
  deploymentSimulator: DeploymentSimulator;
  close(): Promise<void>;
}

/** What ExternalSecrets read when the cluster was started without workloads. */
const noProvider: SecretProvider = async () => {
  const error = new Error("the simulated cluster was started without a secret provider");
  error.name = "NoSecretProviderConfigured";
  throw error;
};

/**
 * One Application per service and environment, named by each environment's `argocd.application` template.
 * Environments without approval (staging) sync automatically; gated ones wait for an explicit sync.
 *
 * @example
 * simulatedApplications(config) // [{ namespace: "argocd", name: "checkout-staging", service: "checkout", environment: "staging", autoSync: true }, …]
 */
export const simulatedApplications = (config: SwitchyardConfig): SimulatedApplication[] =>
  config.environments.flatMap((environment) =>
    config.services.map((service) => ({
      namespace: environment.argocd.namespace,
      name: argoApplication(environment, service.name),
      service: service.name,
      environment: environment.name,
      autoSync: environment.approval === "none",
    })),
  );

/**
 * The workloads of switchyard.yaml's secret consumers: per consumer an ExternalSecret (writing a Secret of the same
 * name from the secret's JSON keys `username` and `password` for database secrets, or its whole value as `value`
 * for API keys) and its Deployments (two replicas each, reading that Secret).
 *
 * @example
 * simulatedWorkloads(config, ({ key }) => secrets.getSecretValue(key).then((v) => v.secretString))
 */
export const simulatedWorkloads = (
  config: Pick<SwitchyardConfig, "secrets">,
  provider: SecretProvider,
  options: Pick<SimulatedWorkloads, "rolloutDelayMs" | "secretSyncDelayMs"> = {},
): SimulatedWorkloads => ({
  externalSecrets: config.secrets.flatMap((secret) =>
    secret.consumers.map((consumer) => ({
      namespace: consumer.namespace,
      name: consumer.externalSecret,
      targetSecret: consumer.externalSecret,
      data:
        secret.rotation.strategy === "api-key"
          ? [{ secretKey: "value", remoteRef: { key: secret.name } }]
          : ["username", "password", "host", "port", "dbname"].map((property) => ({
              secretKey: property,
              remoteRef: { key: secret.name, property },
            })),
    })),
  ),
  deployments: config.secrets.flatMap((secret) =>
    secret.consumers.flatMap((consumer) =>
      consumer.deployments.map((name) => ({
        namespace: consumer.namespace,
        name,
        replicas: simulatedReplicas,
        secretName: consumer.externalSecret,
      })),
    ),
  ),
  provider,
  ...options,
});

/** Replicas of each simulated Deployment: two, so a rollout has an in-between state to watch. */
const simulatedReplicas = 2;

/**
 * Starts the simulated cluster: Applications created from `applications` at the current head, ExternalSecrets
 * synced from `workloads.provider` into their Secrets, Deployments rolled out; served over HTTP on the loopback
 * interface, moved by the Argo CD, External Secrets and Deployment simulators (sharing `clock` and `timers`).
 * Everything is in memory; a restart starts afresh.
 *
 * @example
 * const cluster = await startSimulatedCluster({
 *   applications: simulatedApplications(config), resolveRevision: () => gitops.head(), syncDelayMs: 2000, degraded: () => false,
 *   workloads: {
 *     externalSecrets: [{ namespace: "checkout", name: "checkout-db", targetSecret: "checkout-db", data: [{ secretKey: "password", remoteRef: { key: "checkout/db", property: "password" } }] }],
 *     deployments: [{ namespace: "checkout", name: "checkout", replicas: 3, secretName: "checkout-db" }],
 *     provider: async ({ key }) => (await secrets.getSecretValue(key)).secretString,
 *     rolloutDelayMs: 3000,
 *   },
 * });
 * const target = new KubernetesDeployTarget(kubeConfigFor(cluster.access));
 */
export const startSimulatedCluster = async (options: SimulatedClusterOptions): Promise<SimulatedCluster> => {
  const { token = localClusterToken, host, port, workloads, ...simulatorOptions } = options;
  const { clock, timers, onError } = simulatorOptions;
  const shared = {
    ...(clock !== undefined && { clock }),
    ...(timers !== undefined && { timers }),
    ...(onError !== undefined && { onError }),
  };
  const revisions = createResourceVersions();
  const storeOptions = { revisions, ...(clock !== undefined && { clock }) };
  const applicationResource = argoApplications(storeOptions);
  const externalSecretResource = externalSecrets(storeOptions);
  const secretResource = secrets(storeOptions);
  const deploymentResource = deployments(storeOptions);
  const simulator = new ArgoSimulator({ ...simulatorOptions, store: applicationResource.store });
  const externalSecretsSimulator = new ExternalSecretsSimulator({
    externalSecrets: externalSecretResource.store,
    secrets: secretResource.store,
    initial: workloads?.externalSecrets ?? [],
    provider: workloads?.provider ?? noProvider,
    ...(workloads?.secretSyncDelayMs !== undefined && { syncDelayMs: workloads.secretSyncDelayMs }),
    ...shared,
  });
  const deploymentSimulator = new DeploymentSimulator({
    store: deploymentResource.store,
    deployments: workloads?.deployments ?? [],
    rolloutDelayMs: workloads?.rolloutDelayMs ?? 0,
    ...(workloads?.failing !== undefined && { failing: workloads.failing }),
    ...shared,
  });
  const stopSimulators = () => {
    simulator.stop();
    externalSecretsSimulator.stop();
    deploymentSimulator.stop();
  };
  let server: Awaited<ReturnType<typeof startClusterApiServer>>;
  try {
    await simulator.start();
    await externalSecretsSimulator.start();
    deploymentSimulator.start();
    server = await startClusterApiServer({
      resources: [applicationResource, externalSecretResource, secretResource, deploymentResource],
      token,
      ...(host !== undefined && { host }),
      ...(port !== undefined && { port }),
    });
  } catch (error) {
    stopSimulators();
    throw error;
  }
  return {
    url: server.url,
    // client-node only speaks plain HTTP with TLS verification off; there is no TLS on the loopback server.
    access: { server: server.url, skipTLSVerify: true, token: async () => token },
    applications: applicationResource.store,
    simulator,
    workloads: {
      externalSecrets: externalSecretResource.store,
      secrets: secretResource.store,
      deployments: deploymentResource.store,
    },
    externalSecretsSimulator,
    deploymentSimulator,
    close: async () => {
      stopSimulators();
      await server.close();
    },
  };
};
