// The local workflow runner's public surface.

export type { WorkflowSource } from "./definition.ts";
export * from "./errors.ts";
export type { RunnerLogger } from "./execution.ts";
export { type HistoryEvent, type HistoryEventType, historyEventTypes } from "./history.ts";
export type { IntegrationContext, LocalFunction, LocalIntegration } from "./resources.ts";
export {
  type ExecutionDescription,
  type ExecutionListItem,
  type ListExecutionsInput,
  type StartExecutionInput,
  type StartExecutionOutput,
  WorkflowRunner,
  type WorkflowRunnerOptions,
} from "./runner.ts";
export type { ExecutionStatus, TokenStatus } from "./store.ts";
export { workflowTables } from "./store.ts";
