// Lambda: Secrets Manager's rotation function — one step (create, set, test, finish) of a secret's rotation per call.

import { z } from "zod";
import {
  type RotateSecretDeps,
  type RotationStepResult,
  rotateSecret,
  rotationSteps,
} from "../core/rotate-secret.ts";
import { rotateSecretDeps } from "../wiring/aws.ts";
import { coldStart, withHandlerStack } from "../wiring/middleware.ts";

/** The event Secrets Manager invokes a rotation function with. */
export const rotateSecretEventSchema = z.object({
  Step: z.enum(rotationSteps),
  SecretId: z.string().min(1).max(2048),
  /** A version id: Secrets Manager's ClientRequestToken is 32–64 characters. */
  ClientRequestToken: z.string().min(32).max(64),
  RotationToken: z.string().min(1).optional(),
});

export const makeRotateSecret =
  (deps: RotateSecretDeps) =>
  async (event: z.infer<typeof rotateSecretEventSchema>): Promise<RotationStepResult> =>
    rotateSecret(deps, event);

export const handler = coldStart(() =>
  withHandlerStack(makeRotateSecret(rotateSecretDeps()), rotateSecretEventSchema),
);
