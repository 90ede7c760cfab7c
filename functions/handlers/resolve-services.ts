// Lambda: the first step of image promotion — the services that deploy the pushed repository, and the environment.

import { z } from "zod";
import type { SwitchyardConfig } from "../core/config.ts";
import { type Resolution, resolveServices } from "../core/resolve-services.ts";
import { loadConfig } from "../wiring/config.ts";
import { envNames, requireEnv } from "../wiring/env.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const resolveServicesInputSchema = z.object({
  repository: z.string().min(1),
  environment: z.string().min(1).nullable().optional(),
  services: z.array(z.string().min(1)).nullable().optional(),
  promotionId: z.uuid().nullable().optional(),
});

export type ResolveServicesInput = z.infer<typeof resolveServicesInputSchema>;
export type ResolveServicesOutput = Resolution & { promotionId: string | null };

export interface ResolveServicesDeps {
  config: Pick<SwitchyardConfig, "services" | "environments">;
}

export const makeResolveServices =
  (deps: ResolveServicesDeps) =>
  async (input: ResolveServicesInput): Promise<ResolveServicesOutput> => ({
    ...resolveServices(deps.config, input),
    // Echoed so the workflow can hand it to every service's branch (a path to a missing key would fail).
    promotionId: input.promotionId ?? null,
  });

export const handler = coldStart(() =>
  withHandlerStack(
    makeResolveServices({ config: loadConfig(requireEnv(envNames.config)) }),
    resolveServicesInputSchema,
  ),
);
