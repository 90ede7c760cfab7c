// Test helpers for the local runtime: a throwaway home, a started runtime, and JSON calls against it.

import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../local/log.ts";
import { type Runtime, type RuntimeOptions, startRuntime } from "../../local/runtime.ts";

export interface TestRuntime extends Runtime {
  home: string;
  // biome-ignore lint/suspicious/noExplicitAny: a JSON answer; each test asserts the fields it reads.
  call(path: string, init?: RequestInit): Promise<{ status: number; body: any }>;
  dispose(): Promise<void>;
}

/** Starts a runtime on a free port with its own state directory. */
export const startTestRuntime = async (options: Partial<RuntimeOptions> = {}): Promise<TestRuntime> => {
  const home = options.home ?? mkdtempSync(join(tmpdir(), "switchyard-"));
  // mkdtemp makes it private; as root the embedded PostgreSQL runs as the OS user "postgres" and must reach it.
  chmodSync(home, 0o711);
  const runtime = await startRuntime({
    home,
    port: 0,
    configPath: "switchyard.yaml",
    logger: silentLogger,
    bus: { baseBackoffMs: 10, maxBackoffMs: 50 },
    ...options,
  });
  return {
    ...runtime,
    home,
    call: async (path, init) => {
      const response = await fetch(`${runtime.url}${path}`, init);
      const text = await response.text();
      return { status: response.status, body: text.length > 0 ? JSON.parse(text) : undefined };
    },
    dispose: async () => {
      await runtime.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
};

/** A PutEvents entry built from a sample event file of events/samples/. */
export const entryFromSample = (file: string, detail: Record<string, unknown> = {}) => {
  const event = JSON.parse(readFileSync(file, "utf8"));
  return {
    Source: event.source,
    DetailType: event["detail-type"],
    Detail: JSON.stringify({ ...event.detail, ...detail }),
    Resources: event.resources,
  };
};

export const postJson = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export const eventually = async <T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};
