// Lambda behind GET /environments: what each environment runs, per service, as Switchyard last deployed it.

import type { SwitchyardConfig } from "../core/config.ts";
import type { DeploymentRecord, PromotionStore } from "../core/ports.ts";
import { awsConfig, promotionStore } from "../wiring/aws.ts";
import { type HttpRequest, type HttpResult, withHttpStack } from "../wiring/http.ts";
import { coldStart } from "../wiring/middleware.ts";

/** One service in one environment: what runs there, or that Switchyard never deployed it. */
export type ServiceDeployment =
  | {
      service: string;
      deployed: true;
      tag: string | null;
      digest: string;
      revision: string;
      deployedAt: string;
      promotionId: string;
    }
  | { service: string; deployed: false };

export interface EnvironmentView {
  name: string;
  approval: "none" | "required";
  services: ServiceDeployment[];
}

export interface ListEnvironmentsDeps {
  config: Pick<SwitchyardConfig, "services" | "environments">;
  promotions: Pick<PromotionStore, "listDeployments">;
}

const toServiceDeployment = (service: string, deployment: DeploymentRecord | undefined): ServiceDeployment =>
  deployment
    ? {
        service,
        deployed: true,
        tag: deployment.tag ?? null,
        digest: deployment.digest,
        revision: deployment.revision,
        deployedAt: deployment.deployedAt,
        promotionId: deployment.promotionId,
      }
    : { service, deployed: false };

/**
 * GET /environments → 200 `{ environments: [{ name, approval, services: [...] }] }`, environments and services in
 * switchyard.yaml's order. Deployments of services or environments no longer configured are left out.
 *
 * @example
 * const handler = withHttpStack(makeListEnvironments({ config, promotions: store }));
 */
export const makeListEnvironments =
  (deps: ListEnvironmentsDeps) =>
  async (_request: HttpRequest): Promise<HttpResult<{ environments: EnvironmentView[] }>> => {
    const deployments = new Map(
      (await deps.promotions.listDeployments()).map((d) => [`${d.service}\u0000${d.environment}`, d]),
    );
    const environments = deps.config.environments.map((environment) => ({
      name: environment.name,
      approval: environment.approval === "none" ? ("none" as const) : ("required" as const),
      services: deps.config.services.map((service) =>
        toServiceDeployment(service.name, deployments.get(`${service.name}\u0000${environment.name}`)),
      ),
    }));
    return { statusCode: 200, body: { environments } };
  };

export const handler = coldStart(() =>
  withHttpStack(makeListEnvironments({ config: awsConfig(), promotions: promotionStore() })),
);
