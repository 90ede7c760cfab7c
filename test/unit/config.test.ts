// switchyard.yaml validation: the shipped sample is valid, and each kind of mistake is reported with file, line and path.

import { describe, expect, it } from "vitest";
import { argoApplication, valuesFile } from "../../functions/core/config.ts";
import { ConfigError } from "../../functions/core/errors.ts";
import { loadConfig, parseConfig } from "../../functions/wiring/config.ts";

const valid = `
gitops: { repository: acme/gitops, branch: main }
environments:
  - name: staging
    approval: none
    argocd: { namespace: argocd, application: "{service}-staging" }
  - name: production
    approval: { approvers: [a@example.com, b@example.com], minApprovals: 1, timeoutHours: 24 }
    argocd: { namespace: argocd, application: "{service}-production" }
services:
  - name: checkout
    repository: checkout
    policy: { semver: "^1.0.0" }
    values: "envs/{environment}/checkout/values.yaml"
`;

const errorOf = (text: string): ConfigError => {
  try {
    parseConfig(text, "switchyard.yaml");
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
};

describe("switchyard.yaml", () => {
  it("accepts the sample shipped at the repository root, with one service per policy kind", () => {
    const config = loadConfig("switchyard.yaml");
    expect(config.services.length).toBeGreaterThanOrEqual(3);
    const kinds = config.services.map((s) => Object.keys(s.policy).find((k) => k !== "includePrerelease"));
    expect(new Set(kinds)).toEqual(new Set(["semver", "pattern", "tag"]));
  });

  it("fills defaults: minApprovals 1, includePrerelease false, no AWS region (the deployer's is used)", () => {
    const config = parseConfig(
      valid.replace("minApprovals: 1, ", "").replace("branch: main", "branch: main"),
      "switchyard.yaml",
    );
    const production = config.environments[1];
    expect(production?.approval).toMatchObject({ minApprovals: 1 });
    expect(config.services[0]?.policy).toEqual({ semver: "^1.0.0", includePrerelease: false });
    expect(config.aws).toEqual({});
  });

  it("derives values files and Argo CD application names from the templates", () => {
    const config = parseConfig(valid, "switchyard.yaml");
    const [staging, production] = config.environments;
    const checkout = config.services[0]!;
    expect(valuesFile(checkout, "staging")).toBe("envs/staging/checkout/values.yaml");
    expect(argoApplication(staging!, "checkout")).toBe("checkout-staging");
    expect(argoApplication(production!, "checkout")).toBe("checkout-production");
  });

  it.each([
    [
      "a service with two policies",
      valid.replace('{ semver: "^1.0.0" }', '{ semver: "^1.0.0", tag: stable }'),
      "services[0].policy",
      "exactly one of",
    ],
    [
      "an invalid semver range",
      valid.replace("^1.0.0", "one point oh"),
      "services[0].policy.semver",
      "expected a valid semver range",
    ],
    [
      "an invalid regex",
      valid.replace('{ semver: "^1.0.0" }', '{ pattern: "([" }'),
      "services[0].policy.pattern",
      "expected a valid regular expression",
    ],
    [
      "a missing repository",
      valid.replace("    repository: checkout\n", ""),
      "services[0].repository",
      "required",
    ],
    [
      "an unknown key",
      valid.replace("    repository: checkout\n", "    repository: checkout\n    colour: blue\n"),
      "services[0]",
      'unknown key "colour"',
    ],
    [
      "an unknown placeholder",
      valid.replace("{environment}/checkout", "{env}/checkout"),
      "services[0].values",
      "unknown placeholder {env}",
    ],
    [
      "a values file shared by environments",
      valid.replace("envs/{environment}/checkout", "envs/checkout"),
      "services[0].values",
      "its own values file",
    ],
    [
      "more approvals than approvers",
      valid.replace("minApprovals: 1", "minApprovals: 3"),
      "environments[1].approval",
      "minApprovals",
    ],
    [
      "an approver that is not an e-mail",
      valid.replace("a@example.com", "alice"),
      "environments[1].approval",
      "expected",
    ],
    [
      "a bad approval value",
      valid.replace("approval: none", "approval: maybe"),
      "environments[0].approval",
      'expected "none"',
    ],
    [
      "a gitops repository without owner",
      valid.replace("acme/gitops", "gitops"),
      "gitops.repository",
      "owner/name",
    ],
    [
      "a duplicated service",
      `${valid}  - name: checkout\n    repository: other\n    policy: { tag: stable }\n    values: "e/{environment}/o.yaml"\n`,
      "services",
      "defined twice",
    ],
    [
      "no services",
      valid.slice(0, valid.indexOf("services:")).concat("services: []\n"),
      "services",
      "at least one service",
    ],
  ])("rejects %s, naming the path", (_name, text, path, expected) => {
    const error = errorOf(text);
    const line = error.issues.find((issue) => issue.includes(` ${path}`));
    expect(line, error.message).toBeDefined();
    expect(line).toContain(expected);
    expect(line).toMatch(/^switchyard\.yaml:\d+:\d+ /);
    expect(error.message).not.toMatch(/\n\s+at /);
  });

  it("reports YAML syntax errors with their line", () => {
    const error = errorOf("gitops: [\nservices: {");
    expect(error.message).toMatch(/switchyard\.yaml:\d+:\d+: YAML syntax error/);
  });

  it("reports a missing file clearly", () => {
    expect(() => loadConfig("does-not-exist.yaml")).toThrow(/does-not-exist\.yaml: file not found/);
  });
});

describe("switchyard.yaml snapshots", () => {
  const withDatabases = `${valid}local:
  postgres:
    databases:
      - { name: order_db, user: orders_app, secret: orders/db }
      - { name: payments, user: payments_app, secret: payments/db, instance: payments-prod, tags: { team: pay } }
`;

  it("fills every default when the section is absent", () => {
    const { snapshots } = parseConfig(valid, "switchyard.yaml");
    expect(snapshots).toEqual({
      schedule: "cron(0 3 * * ? *)",
      selector: { tagKey: "switchyard:backup", tagValue: "true" },
      retentionDays: 7,
      minCount: 3,
      maxConcurrency: 2,
      waitTimeoutMinutes: 60,
      pollIntervalSeconds: 30,
      quota: { limit: 100, warnAtPercent: 80 },
      drill: {
        schedule: "cron(0 5 1 * ? *)",
        smokeQuery: "select count(*) from orders",
        timeoutMinutes: 60,
        masterSecrets: {},
      },
    });
  });

  it("fills the defaults of nested sections left out, and accepts a copy to another region", () => {
    const { snapshots } = parseConfig(
      `${valid}snapshots:
  schedule: "rate(12 hours)"
  quota: { limit: 200 }
  drill: { smokeQuery: "select 1" }
  copyTo:
    region: eu-central-1
    kmsKeyArn: arn:aws:kms:eu-central-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab
`,
      "switchyard.yaml",
    );
    expect(snapshots.schedule).toBe("rate(12 hours)");
    expect(snapshots.quota).toEqual({ limit: 200, warnAtPercent: 80 });
    expect(snapshots.drill).toEqual({
      schedule: "cron(0 5 1 * ? *)",
      smokeQuery: "select 1",
      timeoutMinutes: 60,
      masterSecrets: {},
    });
    expect(snapshots.copyTo?.region).toBe("eu-central-1");
  });

  it("derives each local database's instance and tags, keeping those given", () => {
    const { databases } = parseConfig(withDatabases, "switchyard.yaml").local.postgres;
    expect(databases.map((d) => [d.instance, d.tags])).toEqual([
      ["order-db", { "switchyard:backup": "true" }],
      ["payments-prod", { team: "pay" }],
    ]);
  });

  it.each([
    [
      "a cron with both day fields set",
      `${valid}snapshots: { schedule: "cron(0 3 * * * *)" }\n`,
      "snapshots.schedule",
      "day-of-month and day-of-week cannot both be set",
    ],
    [
      "a one-time drill schedule",
      `${valid}snapshots: { drill: { schedule: "at(2026-06-01T05:00:00)" } }\n`,
      "snapshots.drill.schedule",
      "expected a recurring cron(...) or rate(...)",
    ],
    [
      "a KMS alias instead of a key ARN",
      `${valid}snapshots: { copyTo: { region: eu-central-1, kmsKeyArn: "arn:aws:kms:eu-central-1:123456789012:alias/backups" } }\n`,
      "snapshots.copyTo.kmsKeyArn",
      "expected a KMS key ARN",
    ],
    [
      "a KMS key in another region than the copy",
      `${valid}snapshots: { copyTo: { region: eu-central-1, kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" } }\n`,
      "snapshots.copyTo.kmsKeyArn",
      "the KMS key must be in the region the snapshot is copied to",
    ],
    [
      "a bad copy region",
      `${valid}snapshots: { copyTo: { region: Frankfurt } }\n`,
      "snapshots.copyTo.region",
      "expected an AWS region",
    ],
    [
      "a drill instance class that is not one",
      `${valid}snapshots: { drill: { instanceClass: t4g.micro } }\n`,
      "snapshots.drill.instanceClass",
      "expected an instance class such as db.t4g.micro",
    ],
    [
      "a drill security group that is not an id",
      `${valid}snapshots: { drill: { securityGroupIds: [default] } }\n`,
      "snapshots.drill.securityGroupIds[0]",
      "expected a security group id",
    ],
    [
      "a retention of 0 days",
      `${valid}snapshots: { retentionDays: 0 }\n`,
      "snapshots.retentionDays",
      "at least 1 day",
    ],
    [
      "too much concurrency",
      `${valid}snapshots: { maxConcurrency: 21 }\n`,
      "snapshots.maxConcurrency",
      "<=20",
    ],
    [
      "a database name that makes no RDS identifier",
      withDatabases.replace("name: order_db", "name: _orders"),
      "local.postgres.databases[0].instance",
      'is "-orders", not an RDS identifier',
    ],
    [
      "two databases with one instance",
      withDatabases.replace("instance: payments-prod", "instance: order-db"),
      "local.postgres.databases",
      'instance "order-db" is used by two databases',
    ],
  ])("rejects %s, naming the path", (_name, text, path, expected) => {
    const error = errorOf(text);
    const line = error.issues.find((issue) => issue.includes(` ${path}:`));
    expect(line, error.message).toBeDefined();
    expect(line).toContain(expected);
  });
});
