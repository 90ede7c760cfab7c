// The sample GitOps repository the local runtime creates on first start: one Helm values file per service and environment.

import { createHash } from "node:crypto";
import semver from "semver";
import {
  type ServiceConfig,
  type SwitchyardConfig,
  type TagPolicy,
  valuesFile,
} from "../functions/core/config.ts";

/** Stand-ins for the AWS account and region when switchyard.yaml names none: the values only need to look real. */
const placeholderAccount = "000000000000";
const placeholderRegion = "us-east-1";

/** Tags tried, in order, as the first tag of a `pattern` service; the first the pattern accepts is used. */
const patternTagCandidates = [
  "main-0000000",
  "1.0.0",
  "v1.0.0",
  "release-1.0.0",
  "build-1",
  "2026.01.0",
  "0.1.0",
  "latest",
  "stable",
  "main",
];

/**
 * The tag a fresh environment starts at: the lowest version the semver range allows (so any release it accepts is
 * an upgrade), an example the pattern accepts, or the followed tag. Undefined when no example fits a pattern.
 */
export const initialTag = (policy: TagPolicy): string | undefined => {
  if ("semver" in policy) {
    return semver.minVersion(policy.semver)?.version ?? "1.0.0";
  }
  if ("pattern" in policy) {
    const pattern = new RegExp(policy.pattern);
    return patternTagCandidates.find((candidate) => pattern.test(candidate));
  }
  return policy.tag;
};

/** A made-up but well-formed digest, the same on every start so a re-created sample repository is identical. */
const sampleDigest = (service: string, environment: string): string =>
  `sha256:${createHash("sha256").update(`switchyard-sample/${service}/${environment}`).digest("hex")}`;

const policyComment = (policy: TagPolicy): string => {
  if ("semver" in policy) return `newest release within semver range ${policy.semver}`;
  if ("pattern" in policy) return `newest push whose tag matches /${policy.pattern}/`;
  return `the image the moving tag "${policy.tag}" points at, pinned by digest`;
};

const yamlString = (value: string): string => JSON.stringify(value);

const valuesYaml = (
  service: ServiceConfig,
  environment: string,
  registry: string,
  replicas: number,
): string => {
  const tag = initialTag(service.policy);
  const tagLine =
    tag === undefined
      ? "  # tag: set by the first promotion (no example tag fits the service's pattern)\n"
      : `  tag: ${yamlString(tag)}\n`;
  return [
    `# Helm values for ${service.name} in ${environment}.`,
    "# image.tag and image.digest are written by Switchyard on promotion; the chart deploys",
    "# {{ .Values.image.repository }}@{{ .Values.image.digest }}, so the digest is what runs.",
    `# Promotion policy: ${policyComment(service.policy)}.`,
    "",
    `replicaCount: ${replicas}`,
    "",
    "image:",
    `  repository: ${registry}/${service.repository}`,
    `${tagLine}  digest: ${sampleDigest(service.name, environment)}`,
    "  pullPolicy: IfNotPresent",
    "",
    "service:",
    "  type: ClusterIP",
    "  port: 8080 # the container's HTTP port",
    "",
    "resources:",
    "  requests:",
    "    cpu: 100m",
    "    memory: 128Mi",
    "  limits:",
    "    memory: 256Mi # no CPU limit: throttling hurts latency more than it protects neighbours",
    "",
    "podAnnotations: {}",
    "",
  ].join("\n");
};

const readme = (config: SwitchyardConfig, registry: string): string =>
  [
    "# GitOps repository",
    "",
    "The desired state of every environment, one Helm values file per service and environment.",
    "Argo CD deploys what is here; Switchyard promotes images by committing `image.tag` and",
    "`image.digest` to these files, one commit per service and change, never touching other lines.",
    "",
    `This is the local runtime's sample of \`${config.gitops.repository}\` (branch \`${config.gitops.branch}\`);`,
    `images come from \`${registry}\`.`,
    "",
    "| service | policy | values files |",
    "|---|---|---|",
    ...config.services.map(
      (service) =>
        `| ${service.name} | ${policyComment(service.policy)} | ${config.environments
          .map((env) => `\`${valuesFile(service, env.name)}\``)
          .join(", ")} |`,
    ),
    "",
  ].join("\n");

/**
 * The files of the sample GitOps repository: a values file for every service × environment at the path
 * switchyard.yaml gives it, with a starting image fitting each service's policy, and a README.
 *
 * @example
 * await GitGitOpsRepository.init(join(home, "gitops"), { files: seedFiles(config) });
 * // { "README.md": "# GitOps repository…", "envs/staging/checkout/values.yaml": "# Helm values for checkout…", … }
 */
export const seedFiles = (config: SwitchyardConfig): Record<string, string> => {
  const registry = `${config.aws.account ?? placeholderAccount}.dkr.ecr.${config.aws.region ?? placeholderRegion}.amazonaws.com`;
  const files: Record<string, string> = { "README.md": readme(config, registry) };
  for (const service of config.services) {
    config.environments.forEach((environment, index) => {
      // Later environments (production) run more replicas, as a real platform would.
      const replicas = index === 0 ? 1 : 2;
      files[valuesFile(service, environment.name)] = valuesYaml(
        service,
        environment.name,
        registry,
        replicas,
      );
    });
  }
  return files;
};
