// The resource types the simulated API server serves, with what kube-apiserver would check and accept for each.

import { z } from "zod";
import { argoApplicationResource } from "../../functions/adapters/kubernetes/kubernetes-deploy-target.ts";
import type { Clock } from "../../functions/core/ports.ts";
import type { StatusCause } from "./kubernetes-status.ts";
import { type KubernetesObject, ObjectStore, type ResourceVersions } from "./object-store.ts";
import { type PatchContentType, patchContentTypes } from "./patch.ts";

/** One namespaced resource type as discovery describes it, and the store holding its objects. */
export interface ServedResource {
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
  store: ObjectStore;
}

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

const validateApplication = (object: KubernetesObject): StatusCause[] => {
  const parsed = applicationSchema.safeParse(object);
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
export const argoApplications = (
  options: { revisions?: ResourceVersions; clock?: Clock } = {},
): ServedResource => ({
  ...argoApplicationResource,
  singular: "application",
  listKind: "ApplicationList",
  shortNames: ["app", "apps"],
  verbs: ["get", "list", "patch"],
  patchTypes: [patchContentTypes.jsonPatch, patchContentTypes.mergePatch],
  store: new ObjectStore({
    resource: argoApplicationResource,
    validate: validateApplication,
    ...(options.revisions !== undefined && { revisions: options.revisions }),
    ...(options.clock !== undefined && { clock: options.clock }),
  }),
});
