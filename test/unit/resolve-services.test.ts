// Resolving which services deploy a pushed repository: the first decision of every promotion.

import { describe, expect, it } from "vitest";
import { resolveServices } from "../../functions/core/resolve-services.ts";
import { makeResolveServices } from "../../functions/handlers/resolve-services.ts";
import { loadConfig } from "../../functions/wiring/config.ts";
import { localFunctions } from "../../local/functions.ts";

const config = loadConfig("switchyard.yaml");

describe("resolveServices", () => {
  it.each([
    ["checkout", ["checkout"], "1 service deploys repository checkout: checkout"],
    ["payments/worker", ["payments-worker"], "1 service deploys repository payments/worker: payments-worker"],
    ["unknown-repo", [], "no service deploys repository unknown-repo"],
  ])("repository %s → %j", (repository, names, reason) => {
    const result = resolveServices(config, repository);
    expect(result.services.map((s) => s.name)).toEqual(names);
    expect(result.reason).toBe(reason);
  });

  it("lists every service of a repository shared by several", () => {
    const shared = {
      services: [
        { ...config.services[0]!, name: "api" },
        { ...config.services[0]!, name: "api-worker" },
      ],
    };
    expect(resolveServices(shared, "checkout").reason).toBe(
      "2 services deploy repository checkout: api, api-worker",
    );
  });
});

describe("resolve-services handler", () => {
  it("the factory calls the use case", async () => {
    const body = makeResolveServices({ config });
    await expect(body({ eventId: "e1", repository: "storefront", image: {} })).resolves.toMatchObject({
      services: [{ name: "storefront", policy: { tag: "stable" } }],
    });
  });

  it("validates its input at the edge through the shared middleware", async () => {
    const fns = localFunctions({ config, region: "eu-west-1", account: "000000000000" });
    await expect(fns["resolve-services"]({ eventId: "e1" })).rejects.toMatchObject({ name: "ParseError" });
    await expect(
      fns["resolve-services"]({ eventId: "e1", repository: "checkout", image: {} }),
    ).resolves.toMatchObject({
      services: [{ name: "checkout" }],
    });
  });
});
