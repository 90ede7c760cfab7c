// Test helpers that run the real `switchyard` executable as a child process.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";

const bin = "bin/switchyard.js";

/** A port nothing listens on right now. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });

/** Runs one CLI command to completion. */
export const runCli = (args: string[], env: NodeJS.ProcessEnv, input?: string) => {
  const result = spawnSync(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    input,
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
};

/**
 * Runs one CLI command without blocking this process: for a runtime started in the test process itself, which
 * must keep answering while the command runs.
 */
export const runCliAsync = (
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, stdout, stderr }));
  });

export interface RuntimeProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Starts `switchyard start` and resolves once it answers `GET /healthz`. */
export const startCliRuntime = async (env: NodeJS.ProcessEnv & { PORT: string }): Promise<RuntimeProcess> => {
  const child = spawn(process.execPath, [bin, "start"], {
    env: { ...process.env, SWITCHYARD_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const url = `http://127.0.0.1:${env.PORT}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`runtime exited early (${child.exitCode}): ${output}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`runtime did not become healthy: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, url, output: () => output };
};

/** Stops a runtime process with the given signal and waits for it to exit. */
export const stopProcess = (child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    child.once("exit", () => resolve());
    child.kill(signal);
  });
