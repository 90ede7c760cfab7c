// Use case: which configured services a pushed image goes to, and in which environment.

import type { ServiceConfig, SwitchyardConfig } from "./config.ts";
import { ValidationError } from "./errors.ts";

export interface ResolvedService {
  name: string;
  repository: string;
  policy: ServiceConfig["policy"];
  values: string;
}

export interface Resolution {
  services: ResolvedService[];
  /** The environment the promotion targets. */
  environment: string;
  /** Why the list is what it is, for the execution history and the promotion record. */
  reason: string;
}

/**
 * Finds every service whose `repository` is the pushed one (optionally only those named). No match is a normal
 * outcome with a reason; an unknown environment or service is a `ValidationError`.
 *
 * @example
 * resolveServices(config, { repository: "checkout" }) // { services: [{ name: "checkout", ... }], environment: "staging", ... }
 */
export const resolveServices = (
  config: Pick<SwitchyardConfig, "services" | "environments">,
  request: { repository: string; environment?: string | null; services?: readonly string[] | null },
): Resolution => {
  const environment = request.environment ?? config.environments[0]?.name ?? "";
  if (!config.environments.some((e) => e.name === environment)) {
    const known = config.environments.map((e) => e.name).join(", ");
    throw new ValidationError(`unknown environment "${environment}"; expected one of ${known}`);
  }
  const unknown = (request.services ?? []).filter((name) => !config.services.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new ValidationError(
      `unknown service ${unknown.map((n) => `"${n}"`).join(", ")} in switchyard.yaml`,
    );
  }
  const { repository } = request;
  const services = config.services
    .filter((service) => service.repository === repository)
    .filter((service) => !request.services || request.services.includes(service.name))
    .map(({ name, repository: repo, policy, values }) => ({ name, repository: repo, policy, values }));
  if (services.length === 0) {
    const which = request.services ? ` among ${request.services.join(", ")}` : "";
    return { services, environment, reason: `no service${which} deploys repository ${repository}` };
  }
  const names = services.map((s) => s.name).join(", ");
  const count = services.length === 1 ? "1 service deploys" : `${services.length} services deploy`;
  return { services, environment, reason: `${count} repository ${repository}: ${names}` };
};
