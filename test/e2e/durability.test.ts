// kill -9 right after POST /events answered loses no accepted event: the next start delivers every one, once.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../local/db.ts";
import { writeConfig } from "../support/platform.ts";
import { freePort, type RuntimeProcess, startCliRuntime, stopProcess } from "../support/process.ts";
import { entryFromSample, eventually, postJson } from "../support/runtime.ts";

/** The sample platform, with the simulated Argo CD answering at once. */
const fastConfig = () =>
  writeConfig([
    { name: "checkout", policy: { semver: "^1.0.0" } },
    { name: "storefront", policy: { tag: "stable" } },
  ]);

const requests = 20;
const entriesPerRequest = 5;

describe("durability of accepted events", () => {
  const running: RuntimeProcess[] = [];
  let home = "";

  afterEach(async () => {
    for (const r of running.splice(0)) await stopProcess(r.child, "SIGKILL");
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("delivers, after a restart, every event acknowledged before kill -9 — exactly once each", async () => {
    home = mkdtempSync(join(tmpdir(), "switchyard-kill-"));
    const env = { SWITCHYARD_HOME: home, PORT: String(await freePort()), SWITCHYARD_CONFIG: fastConfig() };
    const first = await startCliRuntime(env);
    running.push(first);

    const entry = entryFromSample("events/samples/aws.ecr/image-push.json", {
      "repository-name": "checkout",
    });
    const answers = await Promise.all(
      Array.from({ length: requests }, () =>
        fetch(
          `${first.url}/events`,
          postJson({ Entries: Array.from({ length: entriesPerRequest }, () => entry) }),
        ).then((r) => r.json() as Promise<{ Entries: { EventId?: string }[] }>),
      ),
    );
    // The moment the last answer is in: no graceful shutdown, no chance to flush anything.
    first.child.kill("SIGKILL");
    await stopProcess(first.child, "SIGKILL");

    const accepted = answers.flatMap((a) => a.Entries.map((e) => e.EventId));
    expect(accepted).toHaveLength(requests * entriesPerRequest);
    expect(accepted.every((id) => typeof id === "string")).toBe(true);

    // What the killed process left: every accepted event is in the log, its delivery done or still owed.
    const db = openDatabase(join(home, "state.db"));
    const logged = db.prepare("SELECT COUNT(*) AS n FROM bus_events WHERE source = 'aws.ecr'").get() as {
      n: number;
    };
    // The pushes' own deliveries (a Promotion Succeeded published before the kill owes one of its own).
    const owed = db
      .prepare(
        `SELECT d.status, COUNT(*) AS n FROM bus_deliveries d JOIN bus_events e ON e.seq = d.event_seq
         WHERE e.source = 'aws.ecr' GROUP BY d.status`,
      )
      .all() as { status: string; n: number }[];
    db.close();
    expect(logged.n).toBe(accepted.length);
    expect(owed.reduce((sum, row) => sum + row.n, 0)).toBe(accepted.length);

    const second = await startCliRuntime({ ...env, PORT: String(await freePort()) });
    running.push(second);
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers are checked by the assertions below.
    const get = async (path: string): Promise<any> => (await fetch(`${second.url}${path}`)).json();

    const targets = new Map<string, string>();
    for (const id of accepted) {
      const event = await eventually(async () => {
        const body = await get(`/events/${id}`);
        return body.deliveries?.[0]?.status === "delivered" ? body : undefined;
      }, 30_000);
      expect(event.deliveries).toHaveLength(1);
      targets.set(id as string, event.deliveries[0].target);
    }
    // One execution per event, started with that event, and every one finished.
    for (const [id, arn] of targets) {
      const execution = await eventually(async () => {
        const body = await get(`/executions/${encodeURIComponent(arn)}`);
        return body.status && body.status !== "RUNNING" ? body : undefined;
      }, 30_000);
      expect(execution.input.trigger.eventId).toBe(id);
      expect(execution.status).toBe("SUCCEEDED");
    }
    const listed = await get("/executions?workflow=promote-image&limit=1000");
    expect(listed.executions).toHaveLength(accepted.length);
  });
});
