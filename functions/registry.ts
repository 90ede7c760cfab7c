// The Lambda functions Switchyard ships: one entry per handler, read by the CDK app and the local runtime.

/** Names of the functions; a workflow references one as `${<Pascal>FunctionArn}`. */
export type FunctionName = keyof typeof functions;

export interface FunctionDefinition {
  /** Handler module, relative to the repository root; it exports `handler`. */
  entry: string;
  /** PascalCase id used for CDK construct ids and ASL substitution keys. */
  id: string;
  description: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** Publishes domain events: infra grants `events:PutEvents` on the switchyard bus and sets its name in the environment. */
  publishesEvents?: boolean;
}

export const functions = {
  "resolve-services": {
    entry: "functions/handlers/resolve-services.ts",
    id: "ResolveServices",
    description: "Finds the services in switchyard.yaml that deploy an ECR repository",
    timeoutSeconds: 10,
    memoryMb: 256,
  },
} as const satisfies Record<string, FunctionDefinition>;

/** The ASL substitution key for the function with this id, e.g. `ResolveServicesFunctionArn`. */
export const functionArnKeyForId = (id: string): string => `${id}FunctionArn`;

/** The ASL substitution key for a function's ARN, e.g. `ResolveServicesFunctionArn`. */
export const functionArnKey = (name: FunctionName): string => functionArnKeyForId(functions[name].id);
