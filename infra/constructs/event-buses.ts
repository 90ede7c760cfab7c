// The event buses: Switchyard's own bus for domain events (archived for replay) and the default bus AWS services use.

import { Duration, Stack } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import type { BusName } from "../../events/types.ts";
import { envNames } from "../../functions/wiring/env.ts";

/** The custom bus's name; functions learn it from the environment, never from a literal. */
export const switchyardBusName = "switchyard";

/** Long enough to replay a month of promotions and incidents after a late-found bug; bounded storage cost. */
export const archiveRetentionDays = 30;

/**
 * Owns both buses and the right to publish on the custom one.
 *
 * @example
 * const buses = new EventBuses(this, "Buses");
 * new events.Rule(this, "Rule", { eventBus: buses.bus("default"), ... });
 */
export class EventBuses extends Construct {
  /** Switchyard's domain events (`source: "switchyard"`) and anything other tools publish for it. */
  readonly switchyard: events.EventBus;
  /** The account's default bus, where ECR, CloudWatch and Secrets Manager deliver their events. */
  readonly default: events.IEventBus;
  readonly archive: events.Archive;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.switchyard = new events.EventBus(this, "SwitchyardBus", {
      eventBusName: switchyardBusName,
      description: "Switchyard domain events and the events other platform tools send to Switchyard",
    });
    this.archive = this.switchyard.archive("Archive", {
      description: "Every event on the switchyard bus, for replay after an outage or a bug fix",
      // The L2 requires a pattern. Without a cross-account bus policy only this account can put events here, so
      // matching the account archives every event.
      eventPattern: { account: [Stack.of(this).account] },
      retention: Duration.days(archiveRetentionDays),
    });
    this.default = events.EventBus.fromEventBusName(this, "DefaultBus", "default");
  }

  /** The bus a rule in `events/rules.ts` names. */
  bus(name: BusName): events.IEventBus {
    return name === "default" ? this.default : this.switchyard;
  }

  /**
   * Lets a function publish domain events on the switchyard bus and tells it the bus name, in one place so the
   * permission and the variable cannot drift apart.
   */
  grantPublish(fn: lambda.Function): void {
    this.switchyard.grantPutEventsTo(fn);
    fn.addEnvironment(envNames.eventBusName, this.switchyard.eventBusName);
  }
}
