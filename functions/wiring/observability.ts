// Powertools logger, metrics and tracer: module singletons shared by every handler.

import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";

const serviceName = "switchyard";

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ serviceName, namespace: "Switchyard" });
