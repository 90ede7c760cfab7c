// Powertools logger and metrics: module singletons shared by every handler.

import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";

/** The service name and metrics namespace; infra sets the matching POWERTOOLS_* variables from these. */
export const serviceName = "switchyard";
export const metricsNamespace = "Switchyard";

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ serviceName, namespace: metricsNamespace });
