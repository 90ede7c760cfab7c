// Use case: which configured services deploy a given ECR repository.

import type { ServiceConfig, SwitchyardConfig } from "./config.ts";

export interface ResolvedService {
  name: string;
  repository: string;
  policy: ServiceConfig["policy"];
  values: string;
}

export interface Resolution {
  services: ResolvedService[];
  /** Why the list is what it is, for the execution history and the promotion record. */
  reason: string;
}

/**
 * Finds every service whose `repository` is the pushed one. No match is a normal outcome with a reason.
 *
 * @example
 * resolveServices(config, "checkout") // { services: [{ name: "checkout", ... }], reason: "1 service deploys ..." }
 */
export const resolveServices = (
  config: Pick<SwitchyardConfig, "services">,
  repository: string,
): Resolution => {
  const services = config.services
    .filter((service) => service.repository === repository)
    .map(({ name, repository: repo, policy, values }) => ({ name, repository: repo, policy, values }));
  if (services.length === 0) return { services, reason: `no service deploys repository ${repository}` };
  const names = services.map((s) => s.name).join(", ");
  const count = services.length === 1 ? "1 service deploys" : `${services.length} services deploy`;
  return { services, reason: `${count} repository ${repository}: ${names}` };
};
