// A minimal valid switchyard.yaml, parsed by the real schema, for tests that need a config but not its rules.

import type { z } from "zod";
import { configSchema, type SwitchyardConfig } from "../../functions/core/config.ts";

/** switchyard.yaml as written, before the schema fills in its defaults. */
export type ConfigInput = z.input<typeof configSchema>;

/** Objects merge key by key; arrays and values replace what they override. */
type Override<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: Override<T[K]> }
    : T;

/** Sections of switchyard.yaml to merge into the minimal config. */
export type ConfigOverrides = { [K in keyof ConfigInput]?: Override<ConfigInput[K]> };

/** The one environment of the minimal config: ungated, one Argo CD application per service. */
export const stagingEnvironment = {
  name: "staging",
  approval: "none",
  argocd: { namespace: "argocd", application: "{service}-staging" },
} satisfies ConfigInput["environments"][number];

/** The one service of the minimal config. */
export const checkoutService = {
  name: "checkout",
  repository: "checkout",
  policy: { semver: "^1.0.0" },
  values: "envs/{environment}/checkout/values.yaml",
} satisfies ConfigInput["services"][number];

/** The minimal config as written: a GitOps repository, one environment and one service. */
export const minimalConfig = {
  gitops: { repository: "acme/gitops" },
  environments: [stagingEnvironment],
  services: [checkoutService],
} satisfies ConfigInput;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const merged = (
  base: Record<string, unknown>,
  overrides: Record<string, unknown>,
): Record<string, unknown> => {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const current = result[key];
    result[key] = isPlainObject(current) && isPlainObject(value) ? merged(current, value) : value;
  }
  return result;
};

/**
 * The minimal config with `overrides` deep-merged into it, parsed by the real schema (so an invalid override fails
 * the test that wrote it, with the schema's message). Objects merge; arrays, such as `services`, replace.
 *
 * @example
 * const config = testConfig({ snapshots: { waitTimeoutMinutes: 45 } });
 * const two = testConfig({ services: [checkoutService, { ...checkoutService, name: "payments" }] });
 */
export const testConfig = (overrides: ConfigOverrides = {}): SwitchyardConfig =>
  configSchema.parse(merged(minimalConfig, overrides));
