// Every environment variable a Lambda reads, by name shared with infra/, read through one helper that fails loudly.

import { ConfigError } from "../core/errors.ts";

/** Variable names; infra/ sets them with these constants so a rename cannot drift. */
export const envNames = {
  /** Path of the validated configuration file shipped with the function. */
  config: "SWITCHYARD_CONFIG",
  /** Name of Switchyard's own event bus (domain events). */
  eventBusName: "SWITCHYARD_EVENT_BUS_NAME",
} as const;

export type EnvName = (typeof envNames)[keyof typeof envNames];

/**
 * Reads a required variable; a missing or empty one is a cold-start failure naming the variable.
 *
 * @example const bus = requireEnv(envNames.eventBusName);
 */
export const requireEnv = (name: EnvName, env: NodeJS.ProcessEnv = process.env): string => {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`Environment variable ${name} is required but not set`);
  return value;
};
