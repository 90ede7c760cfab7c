// End to end on the local runtime: a rotation changes the database password and the pods restart on the new one.

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseCredentials } from "../../functions/core/ports.ts";
import type { LocalLogger } from "../../local/log.ts";
import { writeConfig } from "../support/platform.ts";
import { runCliAsync } from "../support/process.ts";
import { eventually, startTestRuntime, type TestRuntime } from "../support/runtime.ts";

const secretName = "orders/db";
const deployments = ["orders-api", "orders-worker"];

/** Every line the runtime logs, kept to be searched for secret values. */
const capture = (): LocalLogger & { lines: string[] } => {
  const lines: string[] = [];
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  };
  return { lines, debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
};

/** Whether the credentials log in to the embedded PostgreSQL (false on a refused password). */
const logsIn = async (credentials: DatabaseCredentials): Promise<boolean> => {
  const client = new pg.Client({
    host: credentials.host,
    port: credentials.port,
    user: credentials.username,
    password: credentials.password,
    database: credentials.dbname,
  });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === "28P01") return false;
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
};

describe("secret rotation on the local runtime", () => {
  let runtime: TestRuntime;
  const logger = capture();

  beforeAll(async () => {
    runtime = await startTestRuntime({
      logger,
      configPath: writeConfig([{ name: "orders", policy: { semver: "^1.0.0" } }], {
        databases: [{ name: "orders", user: "orders_app", secret: secretName }],
        secrets: [
          {
            name: secretName,
            rotation: { schedule: "rate(30 days)", strategy: "single-user" },
            consumers: [{ namespace: "orders", externalSecret: "orders-db", deployments, service: "orders" }],
          },
        ],
      }),
    });
  }, 60_000);
  afterAll(() => runtime.dispose());

  it("changes the password, syncs the ExternalSecret, restarts the Deployments one by one, publishes Secret Rotated", async () => {
    const before = JSON.parse(
      (await runtime.secrets.getSecretValue(secretName)).secretString,
    ) as DatabaseCredentials;
    expect(await logsIn(before)).toBe(true);
    const cluster = runtime.cluster.workloads;
    const hashBefore = JSON.stringify(cluster.secrets.get("orders", "orders-db")?.data);

    const rotated = await runtime.call(`/secrets/${encodeURIComponent(secretName)}/rotate`, {
      method: "POST",
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({
      secretId: secretName,
      strategy: "single-user",
      activeUser: "orders_app",
    });

    const after = JSON.parse(
      (await runtime.secrets.getSecretValue(secretName)).secretString,
    ) as DatabaseCredentials;
    expect(after.password).not.toBe(before.password);
    expect(await logsIn(after)).toBe(true);
    expect(await logsIn(before)).toBe(false);

    const event = await eventually(async () => {
      const { body } = await runtime.call("/events?limit=1000");
      return body.events.find(
        (e: { event: { "detail-type": string } }) => e.event["detail-type"] === "Secret Rotated",
      );
    }, 30_000);
    expect(event.event.detail).toMatchObject({
      secretId: secretName,
      versionId: rotated.body.versionId,
      previousVersionId: rotated.body.previousVersionId,
      strategy: "single-user",
      restartedDeployments: deployments.map((name) => ({ namespace: "orders", name })),
    });

    expect(JSON.stringify(cluster.secrets.get("orders", "orders-db")?.data)).not.toBe(hashBefore);
    const restartedAt = deployments.map((name) => {
      const status = cluster.deployments.get("orders", name)?.status as Record<string, number>;
      expect(status.updatedReplicas).toBe(2);
      expect(status.readyReplicas).toBe(2);
      expect(status.availableReplicas).toBe(2);
      const { spec } = cluster.deployments.get("orders", name) as unknown as {
        spec: { template: { metadata: { annotations: Record<string, string> } } };
      };
      const { template } = spec;
      return template.metadata.annotations["kubectl.kubernetes.io/restartedAt"] ?? "";
    });
    expect(restartedAt.every((at) => at !== "")).toBe(true);
    expect(restartedAt[0]! <= restartedAt[1]!).toBe(true);

    // No value anywhere: the runtime's log, the event log, the executions and their histories.
    const executions = (await runtime.call("/executions?limit=1000")).body.executions as {
      executionArn: string;
    }[];
    const histories = await Promise.all(
      executions.map(async (e) =>
        JSON.stringify((await runtime.call(`/executions/${encodeURIComponent(e.executionArn)}`)).body),
      ),
    );
    const haystack = [
      ...logger.lines,
      JSON.stringify((await runtime.call("/events?limit=1000")).body),
      ...histories,
      JSON.stringify(rotated.body),
    ].join("\n");
    for (const password of [before.password, after.password]) expect(haystack.includes(password)).toBe(false);
  }, 60_000);

  it("switchyard rotate rotates again from the command line, and says so without a value", async () => {
    const before = JSON.parse(
      (await runtime.secrets.getSecretValue(secretName)).secretString,
    ) as DatabaseCredentials;
    const cli = await runCliAsync(["rotate", secretName], {
      SWITCHYARD_URL: runtime.url,
      SWITCHYARD_HOME: runtime.home,
    });
    expect(cli.stderr).toBe("");
    expect(cli.stdout).toMatch(
      /^rotated {3}orders\/db → version [0-9a-f-]{36} \(was [0-9a-f-]{36}\), user orders_app\n$/,
    );
    const after = JSON.parse(
      (await runtime.secrets.getSecretValue(secretName)).secretString,
    ) as DatabaseCredentials;
    expect(await logsIn(after)).toBe(true);
    expect(await logsIn(before)).toBe(false);
    expect(cli.stdout.includes(after.password) || cli.stdout.includes(before.password)).toBe(false);
    const rotatedEvents = await eventually(async () => {
      const { body } = await runtime.call("/events?limit=1000");
      const found = body.events.filter(
        (e: { event: { "detail-type": string } }) => e.event["detail-type"] === "Secret Rotated",
      );
      return found.length === 2 ? found : undefined;
    }, 30_000);
    expect(rotatedEvents[0].event.detail.previousVersionId).toBe(rotatedEvents[1].event.detail.versionId);

    const unknown = await runCliAsync(["rotate", "nope/db"], {
      SWITCHYARD_URL: runtime.url,
      SWITCHYARD_HOME: runtime.home,
    });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('secret "nope/db" is not in switchyard.yaml');
  }, 60_000);
});
