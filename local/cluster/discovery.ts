// Discovery documents (/version, /api, /apis, /apis/<group>[/<version>]) built from the resources the server serves.

import { apiVersionOf, type ServedResource } from "./served-resources.ts";

/** The Kubernetes version the simulated cluster claims, close to what EKS runs. */
export const simulatedKubernetesVersion = { major: "1", minor: "31" } as const;

/**
 * `/version`.
 *
 * @example
 * versionInfo().gitVersion // "v1.31.0-switchyard-simulated"
 */
export const versionInfo = () => ({
  major: simulatedKubernetesVersion.major,
  minor: simulatedKubernetesVersion.minor,
  gitVersion: `v${simulatedKubernetesVersion.major}.${simulatedKubernetesVersion.minor}.0-switchyard-simulated`,
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "1970-01-01T00:00:00Z",
  goVersion: "n/a",
  compiler: "n/a",
  platform: `${process.platform}/${process.arch}`,
});

/**
 * `/api`: the core group's versions (Secrets live there, under `/api/v1`).
 *
 * @example
 * coreApiVersions("127.0.0.1:6443").versions // ["v1"]
 */
export const coreApiVersions = (serverAddress: string) => ({
  kind: "APIVersions",
  versions: ["v1"],
  serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
});

/** Named groups only: the core group ("") is announced by `/api`, never in `/apis`. */
const namedGroups = (resources: readonly ServedResource[]): ServedResource[] =>
  resources.filter((r) => r.group !== "");

const groupVersions = (resources: readonly ServedResource[], group: string): string[] => [
  ...new Set(resources.filter((r) => r.group === group).map((r) => r.version)),
];

const apiGroup = (resources: readonly ServedResource[], group: string) => {
  const versions = groupVersions(resources, group).map((version) => ({
    groupVersion: apiVersionOf({ group, version }),
    version,
  }));
  return { name: group, versions, preferredVersion: versions[0] };
};

/**
 * `/apis/<group>`, or undefined when the group is not served.
 *
 * @example
 * apiGroupDocument(resources, "argoproj.io")?.preferredVersion // { groupVersion: "argoproj.io/v1alpha1", version: "v1alpha1" }
 */
export const apiGroupDocument = (resources: readonly ServedResource[], group: string) =>
  groupVersions(namedGroups(resources), group).length === 0
    ? undefined
    : { kind: "APIGroup", apiVersion: "v1", ...apiGroup(resources, group) };

/**
 * `/apis`: every served group.
 *
 * @example
 * apiGroupList(resources).groups.map((g) => g.name) // ["argoproj.io"]
 */
export const apiGroupList = (resources: readonly ServedResource[]) => ({
  kind: "APIGroupList",
  apiVersion: "v1",
  groups: [...new Set(namedGroups(resources).map((r) => r.group))].map((group) => apiGroup(resources, group)),
});

/**
 * `/apis/<group>/<version>` (or `/api/v1` for the core group, ""), or undefined when that group version is not served.
 *
 * @example
 * apiResourceList(resources, "argoproj.io", "v1alpha1")?.resources[0]?.name // "applications"
 */
export const apiResourceList = (resources: readonly ServedResource[], group: string, version: string) => {
  const served = resources.filter((r) => r.group === group && r.version === version);
  if (served.length === 0) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: apiVersionOf({ group, version }),
    resources: served.map((r) => ({
      name: r.plural,
      singularName: r.singular,
      namespaced: true,
      kind: r.kind,
      verbs: [...r.verbs],
      shortNames: [...r.shortNames],
    })),
  };
};
