// The local runtime's environment: where state lives, which port, which config — every local env read is here.

import { resolve } from "node:path";
import { ConfigError } from "../functions/core/errors.ts";

export interface LocalSettings {
  /** State directory (`SWITCHYARD_HOME`, default `.switchyard/`). */
  home: string;
  /** HTTP port (`PORT`, default 3000). */
  port: number;
  /** Configuration file (`SWITCHYARD_CONFIG`, default `switchyard.yaml`). */
  configPath: string;
  /** Where CLI commands find a running runtime (`SWITCHYARD_URL`, default `http://127.0.0.1:$PORT`). */
  url: string;
}

const defaultPort = 3000;
const maxPort = 65_535;

const parsePort = (raw: string): number => {
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > maxPort) {
    throw new ConfigError(`PORT must be a whole number from 1 to ${maxPort}; got "${raw}"`);
  }
  return port;
};

/**
 * Reads the local runtime's settings from the environment.
 *
 * @example
 * const { home, port } = localSettings();
 */
export const localSettings = (env: NodeJS.ProcessEnv = process.env): LocalSettings => {
  const port = env.PORT?.trim() ? parsePort(env.PORT.trim()) : defaultPort;
  const url = env.SWITCHYARD_URL?.trim() || `http://127.0.0.1:${port}`;
  try {
    new URL(url);
  } catch {
    throw new ConfigError(`SWITCHYARD_URL must be a URL such as http://127.0.0.1:${port}; got "${url}"`);
  }
  return {
    home: resolve(env.SWITCHYARD_HOME?.trim() || ".switchyard"),
    port,
    configPath: resolve(env.SWITCHYARD_CONFIG?.trim() || "switchyard.yaml"),
    url: url.replace(/\/+$/, ""),
  };
};
