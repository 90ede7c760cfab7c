// The resource types the simulated API server serves, with what kube-apiserver would check and accept for each.

import { z } from "zod";
import { argoApplicationResource } from "../../functions/adapters/kubernetes/kubernetes-deploy-target.ts";
import { externalSecretResource } from "../../functions/adapters/kubernetes/kubernetes-workload-target.ts";
import type { Clock } from "../../functions/core/ports.ts";
import { goDurationMs } from "./external-secrets-simulator.ts";
import type { StatusCause } from "./kubernetes-status.ts";
import { type KubernetesObject, ObjectStore, type ResourceVersions } from "./object-store.ts";
import {
  type ListMergeStrategy,
  type PatchContentType,
  patchContentTypes,
  type StrategicMergeSchema,
} from "./patch.ts";

/** Core `v1` Secrets. */
export const secretResource = { group: "", version: "v1", plural: "secrets", kind: "Secret" } as const;

/** `apps/v1` Deployments. */
export const deploymentResource = {
  group: "apps",
  version: "v1",
  plural: "deployments",
  kind: "Deployment",
} as const;

/** One namespaced resource type as discovery describes it, and the store holding its objects. */
export interface ServedResource {
  /** "" for the core group (served under `/api/v1`). */
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  shortNames: readonly string[];
  /** Only what the server implements, so discovery never advertises a verb that would fail. */
  verbs: readonly string[];
  patchTypes: readonly PatchContentType[];
  /** The list merge keys strategic merge patch uses; only built-in types accept that patch type. */
  strategicMerge?: StrategicMergeSchema;
  /**
   * With a status subresource, writes through the object's own endpoint leave `status` as it was (and a create
   * drops it): only the controller sets it. Without one (Argo CD Applications), clients may write it.
   */
  statusSubresource?: boolean;
  /** What the API server does to a written object before validation: defaulting, `stringData` folded into `data`. */
  prepare?: (object: KubernetesObject) => void;
  store: ObjectStore;
}

/**
 * The `apiVersion` of the resource's objects: `group/version`, or just `version` in the core group.
 *
 * @example
 * apiVersionOf(secrets()) // "v1"
 */
export const apiVersionOf = (resource: { group: string; version: string }): string =>
  resource.group === "" ? resource.version : `${resource.group}/${resource.version}`;

export interface ServedResourceOptions {
  /** The cluster-wide resourceVersion counter; every store of one cluster shares it. */
  revisions?: ResourceVersions;
  clock?: Clock;
}

const storeOptions = (options: ServedResourceOptions) => ({
  ...(options.revisions !== undefined && { revisions: options.revisions }),
  ...(options.clock !== undefined && { clock: options.clock }),
});

const stringMap = z.record(z.string(), z.string(), { error: "expected a map of string to string" });

/** The parts of Argo CD's Application CRD schema a client could get wrong; everything else is preserved as sent. */
const applicationSchema = z.looseObject({
  apiVersion: z.literal(`${argoApplicationResource.group}/${argoApplicationResource.version}`),
  kind: z.literal(argoApplicationResource.kind),
  metadata: z.looseObject({ labels: stringMap.optional(), annotations: stringMap.optional() }),
  spec: z.looseObject({}),
  operation: z
    .looseObject({
      initiatedBy: z
        .looseObject({ username: z.string().optional(), automated: z.boolean().optional() })
        .optional(),
      sync: z
        .looseObject({
          revision: z.string().optional(),
          prune: z.boolean().optional(),
          dryRun: z.boolean().optional(),
          syncOptions: z.array(z.string()).optional(),
          syncStrategy: z
            .looseObject({
              hook: z.looseObject({ force: z.boolean().optional() }).optional(),
              apply: z.looseObject({ force: z.boolean().optional() }).optional(),
            })
            .optional(),
        })
        .optional(),
    })
    .optional(),
  status: z
    .looseObject({
      sync: z.looseObject({ status: z.string(), revision: z.string().optional() }).optional(),
      health: z.looseObject({ status: z.string().optional(), message: z.string().optional() }).optional(),
      reconciledAt: z.string().optional(),
      operationState: z
        .looseObject({ operation: z.looseObject({}), phase: z.string(), startedAt: z.string() })
        .optional(),
    })
    .optional(),
});

/** A schema's issues as the causes of a 422; messages name the field and the rule, never the value. */
const causesOf = (schema: z.ZodType, object: KubernetesObject): StatusCause[] => {
  const parsed = schema.safeParse(object);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => ({
    reason:
      issue.code === "invalid_type" && issue.input === undefined ? "FieldValueRequired" : "FieldValueInvalid",
    field: issue.path.map(String).join("."),
    message: issue.message,
  }));
};

/**
 * Argo CD Applications: get, list and patch with JSON merge or JSON patch. Strategic merge patch is refused with
 * 415, as kube-apiserver refuses it for every custom resource.
 *
 * @example
 * const applications = argoApplications({ revisions: createResourceVersions() });
 */
export const argoApplications = (options: ServedResourceOptions = {}): ServedResource => ({
  ...argoApplicationResource,
  singular: "application",
  listKind: "ApplicationList",
  shortNames: ["app", "apps"],
  verbs: ["get", "list", "patch"],
  patchTypes: [patchContentTypes.jsonPatch, patchContentTypes.mergePatch],
  store: new ObjectStore({
    resource: argoApplicationResource,
    validate: (object) => causesOf(applicationSchema, object),
    ...storeOptions(options),
  }),
});

const metadataSchema = z.looseObject({ labels: stringMap.optional(), annotations: stringMap.optional() });
const secretKeyPattern = /^[-._a-zA-Z0-9]+$/;
const secretKey = z.string().regex(secretKeyPattern, {
  error: "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
});
const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** ESO's `ExternalSecret` (v1) as far as the simulator reads it; `dataFrom` and templates are kept, not acted on. */
const externalSecretSchema = z.looseObject({
  apiVersion: z.literal(apiVersionOf(externalSecretResource)),
  kind: z.literal(externalSecretResource.kind),
  metadata: metadataSchema,
  spec: z.looseObject({
    secretStoreRef: z
      .looseObject({ name: z.string(), kind: z.enum(["SecretStore", "ClusterSecretStore"]).optional() })
      .optional(),
    target: z
      .looseObject({
        name: z.string().min(1).optional(),
        creationPolicy: z.enum(["Owner", "Orphan", "Merge", "None"]).optional(),
      })
      .optional(),
    refreshInterval: z
      .string()
      .refine((value) => goDurationMs(value) !== undefined, {
        error: 'expected a Go duration such as "1h0m0s"',
      })
      .optional(),
    data: z
      .array(
        z.looseObject({
          secretKey,
          remoteRef: z.looseObject({
            key: z.string().min(1),
            property: z.string().optional(),
            version: z.string().optional(),
          }),
        }),
      )
      .optional(),
  }),
  status: z.looseObject({}).optional(),
});

const secretSchema = z.looseObject({
  apiVersion: z.literal(apiVersionOf(secretResource)),
  kind: z.literal(secretResource.kind),
  metadata: metadataSchema,
  type: z.string().optional(),
  data: z.record(secretKey, z.string().regex(base64Pattern, { error: "illegal base64 data" })).optional(),
  stringData: z.record(secretKey, z.string(), { error: "expected a map of string to string" }).optional(),
  immutable: z.boolean().optional(),
});

const deploymentSchema = z.looseObject({
  apiVersion: z.literal(apiVersionOf(deploymentResource)),
  kind: z.literal(deploymentResource.kind),
  metadata: metadataSchema,
  spec: z.looseObject({
    replicas: z.number().int().min(0).optional(),
    selector: z.looseObject({ matchLabels: stringMap.optional() }),
    paused: z.boolean().optional(),
    template: z.looseObject({
      metadata: metadataSchema.optional(),
      spec: z.looseObject({
        containers: z
          .array(z.looseObject({ name: z.string().min(1), image: z.string().min(1) }))
          .min(1, { error: "at least one container is required" }),
      }),
    }),
  }),
  status: z.looseObject({}).optional(),
});

const validateDeployment = (object: KubernetesObject): StatusCause[] => {
  const causes = causesOf(deploymentSchema, object);
  if (causes.length > 0) return causes;
  const { spec } = deploymentSchema.parse(object);
  const labels = spec.template.metadata?.labels ?? {};
  const selected = Object.entries(spec.selector.matchLabels ?? {});
  // The selector must pick the template's own pods, or the Deployment would adopt others and never see its own.
  if (selected.length === 0 || selected.some(([key, value]) => labels[key] !== value)) {
    return [
      {
        reason: "FieldValueInvalid",
        field: "spec.template.metadata.labels",
        message: "`selector` does not match template `labels`",
      },
    ];
  }
  return [];
};

/** `metadata.finalizers` merges as a set and `ownerReferences` by uid, in every object. */
const objectMetaLists = (prefix: string): Record<string, ListMergeStrategy> => ({
  [`${prefix}.finalizers`]: "set",
  [`${prefix}.ownerReferences`]: { mergeKey: "uid" },
});

/** The `patchMergeKey` tags of `PodSpec` and `Container` (lists without one, e.g. tolerations, are replaced). */
const podSpecLists = (prefix: string): Record<string, ListMergeStrategy> => {
  const lists: Record<string, ListMergeStrategy> = {
    [`${prefix}.volumes`]: { mergeKey: "name" },
    [`${prefix}.imagePullSecrets`]: { mergeKey: "name" },
    [`${prefix}.hostAliases`]: { mergeKey: "ip" },
  };
  for (const containers of ["containers", "initContainers", "ephemeralContainers"]) {
    lists[`${prefix}.${containers}`] = { mergeKey: "name" };
    lists[`${prefix}.${containers}.env`] = { mergeKey: "name" };
    lists[`${prefix}.${containers}.ports`] = { mergeKey: "containerPort" };
    lists[`${prefix}.${containers}.volumeMounts`] = { mergeKey: "mountPath" };
    lists[`${prefix}.${containers}.volumeDevices`] = { mergeKey: "devicePath" };
  }
  return lists;
};

/** Strategic merge keys of `apps/v1` Deployment. */
export const deploymentMergeKeys: StrategicMergeSchema = {
  ...objectMetaLists("metadata"),
  ...objectMetaLists("spec.template.metadata"),
  ...podSpecLists("spec.template.spec"),
  "status.conditions": { mergeKey: "type" },
};

const asRecord = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;

/** As the API server does: `stringData` is write-only, folded into `data` (base64) and never stored. */
const foldStringData = (object: KubernetesObject): void => {
  const stringData = asRecord(object.stringData);
  if (stringData === undefined) return;
  const data = asRecord(object.data) ?? {};
  for (const [key, value] of Object.entries(stringData)) {
    if (typeof value !== "string") continue;
    data[key] = Buffer.from(value, "utf8").toString("base64");
    delete stringData[key];
  }
  object.data = data;
  // Anything left is not a string: validation answers 422 for it.
  if (Object.keys(stringData).length === 0) delete object.stringData;
};

/** `spec.replicas` defaults to 1, as the API server defaults it. */
const defaultDeployment = (object: KubernetesObject): void => {
  const spec = asRecord(object.spec);
  if (spec !== undefined && spec.replicas === undefined) spec.replicas = 1;
};

/**
 * External Secrets Operator's ExternalSecrets (`external-secrets.io/v1`): create, get, list, and patch with JSON
 * merge or JSON patch (a custom resource: strategic merge is 415). Status is a subresource, so only the
 * simulator writes it; a generation is a change of `spec`.
 *
 * @example
 * const externalSecretResources = externalSecrets({ revisions });
 */
export const externalSecrets = (options: ServedResourceOptions = {}): ServedResource => ({
  ...externalSecretResource,
  singular: "externalsecret",
  listKind: "ExternalSecretList",
  shortNames: ["es"],
  verbs: ["create", "get", "list", "patch"],
  patchTypes: [patchContentTypes.jsonPatch, patchContentTypes.mergePatch],
  statusSubresource: true,
  store: new ObjectStore({
    resource: externalSecretResource,
    validate: (object) => causesOf(externalSecretSchema, object),
    generationFields: ["spec"],
    ...storeOptions(options),
  }),
});

/**
 * Core Secrets: create, get, list, and patch with JSON merge, JSON patch or strategic merge. `data` values are
 * base64 (422 otherwise); `stringData` is folded into `data`.
 *
 * @example
 * const secretResources = secrets({ revisions });
 */
export const secrets = (options: ServedResourceOptions = {}): ServedResource => ({
  ...secretResource,
  singular: "secret",
  listKind: "SecretList",
  shortNames: [],
  verbs: ["create", "get", "list", "patch"],
  patchTypes: [
    patchContentTypes.jsonPatch,
    patchContentTypes.mergePatch,
    patchContentTypes.strategicMergePatch,
  ],
  strategicMerge: objectMetaLists("metadata"),
  prepare: foldStringData,
  store: new ObjectStore({
    resource: secretResource,
    validate: (object) => causesOf(secretSchema, object),
    ...storeOptions(options),
  }),
});

/**
 * `apps/v1` Deployments: create, get, list, and patch with JSON merge, JSON patch or strategic merge (with the
 * Go types' merge keys, so `kubectl rollout restart`'s patch lands as it does on EKS). Status is a subresource; a
 * generation is a change of `spec`.
 *
 * @example
 * const deploymentResources = deployments({ revisions });
 */
export const deployments = (options: ServedResourceOptions = {}): ServedResource => ({
  ...deploymentResource,
  singular: "deployment",
  listKind: "DeploymentList",
  shortNames: ["deploy"],
  verbs: ["create", "get", "list", "patch"],
  patchTypes: [
    patchContentTypes.jsonPatch,
    patchContentTypes.mergePatch,
    patchContentTypes.strategicMergePatch,
  ],
  strategicMerge: deploymentMergeKeys,
  statusSubresource: true,
  prepare: defaultDeployment,
  store: new ObjectStore({
    resource: deploymentResource,
    validate: validateDeployment,
    generationFields: ["spec"],
    ...storeOptions(options),
  }),
});
