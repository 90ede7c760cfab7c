// The simulated cluster in one call: Application store, API server and Argo CD simulator, started and stopped together.

import type { ClusterAccess } from "../../functions/adapters/kubernetes/kubernetes-deploy-target.ts";
import { argoApplication, type SwitchyardConfig } from "../../functions/core/config.ts";
import { startClusterApiServer } from "./api-server.ts";
import { ArgoSimulator, type ArgoSimulatorOptions, type SimulatedApplication } from "./argo-simulator.ts";
import { createResourceVersions, type ObjectStore } from "./object-store.ts";
import { argoApplications } from "./served-resources.ts";

/**
 * The bearer token the local runtime and its simulated cluster share. Not a secret: the server listens on the
 * loopback interface only, and the token exists so the real adapter's authentication path is exercised.
 */
export const localClusterToken = "switchyard-local-cluster-token";

export interface SimulatedClusterOptions extends Omit<ArgoSimulatorOptions, "store"> {
  /** Default `localClusterToken`. */
  token?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
}

export interface SimulatedCluster {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** What `kubeConfigFor` needs to reach this cluster with the real Kubernetes adapter. */
  access: ClusterAccess;
  /** The Applications, for inspection (the dashboard, tests). */
  applications: ObjectStore;
  simulator: ArgoSimulator;
  close(): Promise<void>;
}

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
 * Starts the simulated cluster: Applications created from `applications` at the current head, served over HTTP on
 * the loopback interface, moved by the Argo CD simulator. Everything is in memory; a restart starts afresh.
 *
 * @example
 * const cluster = await startSimulatedCluster({ applications: simulatedApplications(config), resolveRevision: () => gitops.head(), syncDelayMs: 2000, degraded: (s) => config.local.argo.degraded.includes(s) });
 * const target = new KubernetesDeployTarget(kubeConfigFor(cluster.access));
 */
export const startSimulatedCluster = async (options: SimulatedClusterOptions): Promise<SimulatedCluster> => {
  const { token = localClusterToken, host, port, ...simulatorOptions } = options;
  const resource = argoApplications({
    revisions: createResourceVersions(),
    ...(options.clock !== undefined && { clock: options.clock }),
  });
  const simulator = new ArgoSimulator({ ...simulatorOptions, store: resource.store });
  await simulator.start();
  let server: Awaited<ReturnType<typeof startClusterApiServer>>;
  try {
    server = await startClusterApiServer({
      resources: [resource],
      token,
      ...(host !== undefined && { host }),
      ...(port !== undefined && { port }),
    });
  } catch (error) {
    simulator.stop();
    throw error;
  }
  return {
    url: server.url,
    // client-node only speaks plain HTTP with TLS verification off; there is no TLS on the loopback server.
    access: { server: server.url, skipTLSVerify: true, token: async () => token },
    applications: resource.store,
    simulator,
    close: async () => {
      simulator.stop();
      await server.close();
    },
  };
};
