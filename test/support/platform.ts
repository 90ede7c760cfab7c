// Test helpers for promotion scenarios: configs written to a temp dir, image pushes, and a look into the GitOps repo.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";

export interface TestService {
  name: string;
  repository?: string;
  github?: string;
  database?: string;
  policy: Record<string, unknown>;
}

/** Writes a switchyard.yaml for a test platform and returns its path. */
export const writeConfig = (
  services: readonly TestService[],
  options: {
    syncDelaySeconds?: number;
    degraded?: (string | { service: string; tag?: string; digest?: string; environment?: string })[];
    syncTimeoutMinutes?: number;
    pollIntervalSeconds?: number;
    /** The production environment's approval gate. */
    approval?: { approvers: string[]; minApprovals?: number; timeoutHours?: number };
    freeze?: { action: "wait" | "fail"; pollIntervalSeconds?: number; maxWaitHours?: number };
    /** `secrets:` as switchyard.yaml writes it. */
    secrets?: Record<string, unknown>[];
    /** `local.postgres.databases`: started in an embedded PostgreSQL. */
    databases?: { name: string; user: string; secret: string; instance?: string }[];
  } = {},
): string => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-config-"));
  const file = join(dir, "switchyard.yaml");
  const config = {
    gitops: { repository: "acme-platform/gitops", branch: "main" },
    aws: { region: "eu-west-1", account: "123456789012" },
    promotion: {
      syncTimeoutMinutes: options.syncTimeoutMinutes ?? 1,
      pollIntervalSeconds: options.pollIntervalSeconds ?? 0,
      ...(options.freeze ? { freeze: { pollIntervalSeconds: 1, ...options.freeze } } : {}),
    },
    local: {
      argo: { syncDelaySeconds: options.syncDelaySeconds ?? 0, degraded: options.degraded ?? [] },
      ...(options.databases ? { postgres: { databases: options.databases } } : {}),
    },
    ...(options.secrets ? { secrets: options.secrets, rollout: { pollIntervalSeconds: 0 } } : {}),
    environments: [
      {
        name: "staging",
        approval: "none",
        argocd: { namespace: "argocd", application: "{service}-staging" },
      },
      {
        name: "production",
        approval: {
          approvers: options.approval?.approvers ?? ["a@example.com", "b@example.com"],
          minApprovals: options.approval?.minApprovals ?? 1,
          timeoutHours: options.approval?.timeoutHours ?? 24,
        },
        argocd: { namespace: "argocd", application: "{service}-production" },
      },
    ],
    services: services.map((s) => ({
      name: s.name,
      repository: s.repository ?? s.name,
      ...(s.github ? { github: s.github } : {}),
      ...(s.database ? { database: s.database } : {}),
      policy: s.policy,
      values: `envs/{environment}/${s.name}/values.yaml`,
    })),
  };
  writeFileSync(file, stringify(config));
  return file;
};

/** A well-formed digest derived from a label, so tests can tell images apart. */
export const digestOf = (label: string): string =>
  `sha256:${createHash("sha256").update(label).digest("hex")}`;

/** A PutEvents entry for an ECR push. */
export const ecrPush = (
  repository: string,
  tag: string,
  options: { digest?: string; time?: string } = {},
) => ({
  Source: "aws.ecr",
  DetailType: "ECR Image Action",
  Detail: JSON.stringify({
    result: "SUCCESS",
    "repository-name": repository,
    "image-digest": options.digest ?? digestOf(`${repository}:${tag}`),
    "action-type": "PUSH",
    "image-tag": tag,
  }),
  ...(options.time ? { Time: options.time } : {}),
});

/** Runs git in the local GitOps repository. */
export const git = (home: string, ...args: string[]): string =>
  execFileSync("git", ["-C", join(home, "gitops"), ...args], { encoding: "utf8" }).trim();

/** The values file of a service in an environment at the branch head. */
export const valuesAt = (home: string, service: string, environment = "staging", revision = "main"): string =>
  git(home, "show", `${revision}:envs/${environment}/${service}/values.yaml`);
