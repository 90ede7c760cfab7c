// Resolving which services deploy a pushed repository, and where: the first decision of every promotion.

import { describe, expect, it } from "vitest";
import { ValidationError } from "../../functions/core/errors.ts";
import { resolveServices } from "../../functions/core/resolve-services.ts";
import {
  makeResolveServices,
  resolveServicesInputSchema,
} from "../../functions/handlers/resolve-services.ts";
import { loadConfig } from "../../functions/wiring/config.ts";
import { withHandlerStack } from "../../functions/wiring/middleware.ts";

const config = loadConfig("switchyard.yaml");

describe("resolveServices", () => {
  it.each([
    ["checkout", ["checkout"], "1 service deploys repository checkout: checkout"],
    ["payments/worker", ["payments-worker"], "1 service deploys repository payments/worker: payments-worker"],
    ["unknown-repo", [], "no service deploys repository unknown-repo"],
  ])("repository %s → %j", (repository, names, reason) => {
    const result = resolveServices(config, { repository });
    expect(result.services.map((s) => s.name)).toEqual(names);
    expect(result.reason).toBe(reason);
    expect(result.environment).toBe("staging");
  });

  it("lists every service of a repository shared by several, or only those asked for", () => {
    const shared = {
      environments: config.environments,
      services: [
        { ...config.services[0]!, name: "api" },
        { ...config.services[0]!, name: "api-worker" },
      ],
    };
    expect(resolveServices(shared, { repository: "checkout" }).reason).toBe(
      "2 services deploy repository checkout: api, api-worker",
    );
    expect(
      resolveServices(shared, { repository: "checkout", services: ["api-worker"] }).services.map(
        (s) => s.name,
      ),
    ).toEqual(["api-worker"]);
  });

  it("targets the environment asked for", () => {
    expect(resolveServices(config, { repository: "checkout", environment: "production" }).environment).toBe(
      "production",
    );
  });

  it.each([
    [
      { repository: "checkout", environment: "qa" },
      'unknown environment "qa"; expected one of staging, production',
    ],
    [{ repository: "checkout", services: ["nope"] }, 'unknown service "nope"'],
  ])("rejects %j", (request, message) => {
    expect(() => resolveServices(config, request)).toThrow(ValidationError);
    expect(() => resolveServices(config, request)).toThrow(message);
  });
});

describe("resolve-services handler", () => {
  it("the factory calls the use case and echoes the promotion id", async () => {
    const body = makeResolveServices({ config });
    await expect(body({ repository: "storefront", promotionId: null })).resolves.toMatchObject({
      services: [{ name: "storefront", policy: { tag: "stable" } }],
      promotionId: null,
    });
  });

  it("validates its input at the edge through the shared middleware", async () => {
    const handler = withHandlerStack(makeResolveServices({ config }), resolveServicesInputSchema);
    const context = { getRemainingTimeInMillis: () => 1000 } as never;
    await expect(handler({ environment: "staging" } as never, context)).rejects.toMatchObject({
      name: "ParseError",
    });
    await expect(handler({ repository: "checkout" } as never, context)).resolves.toMatchObject({
      services: [{ name: "checkout" }],
    });
  });
});
