// Lambda: the first step of image promotion — the services that deploy the pushed repository.

import { z } from "zod";
import type { SwitchyardConfig } from "../core/config.ts";
import { type Resolution, resolveServices } from "../core/resolve-services.ts";
import { loadConfig } from "../wiring/config.ts";
import { envNames, requireEnv } from "../wiring/env.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

export const resolveServicesInputSchema = z.object({
  eventId: z.string().min(1),
  repository: z.string().min(1),
  image: z.looseObject({ "image-digest": z.string().optional(), "image-tag": z.string().optional() }),
});

export type ResolveServicesInput = z.infer<typeof resolveServicesInputSchema>;

export interface ResolveServicesDeps {
  config: Pick<SwitchyardConfig, "services">;
}

export const makeResolveServices =
  (deps: ResolveServicesDeps) =>
  async (input: ResolveServicesInput): Promise<Resolution> =>
    resolveServices(deps.config, input.repository);

export const handler = coldStart(() =>
  withHandlerStack(
    makeResolveServices({ config: loadConfig(requireEnv(envNames.config)) }),
    resolveServicesInputSchema,
  ),
);
