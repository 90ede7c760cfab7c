// Lambda: rollout-restarts one Deployment so its pods read the new secret — once, and not while its service is frozen.

import { z } from "zod";
import {
  type RestartDeploymentDeps,
  type RestartDeploymentResult,
  restartDeployment,
} from "../core/secret-rollout.ts";
import { restartDeploymentDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

const timestamp = z.iso.datetime({ offset: true });

export const restartDeploymentInputSchema = z.object({
  namespace: z.string().min(1).max(63),
  name: z.string().min(1).max(253),
  service: z.string().min(1).nullable(),
  notBefore: timestamp,
  holdDeadline: timestamp.nullable(),
});

export const makeRestartDeployment =
  (deps: RestartDeploymentDeps) =>
  async (input: z.infer<typeof restartDeploymentInputSchema>): Promise<RestartDeploymentResult> =>
    restartDeployment(deps, input);

export const handler = coldStart(() =>
  withHandlerStack(makeRestartDeployment(restartDeploymentDeps()), restartDeploymentInputSchema),
);
