// Runs the EventPublisher contract against the local bus publisher and the EventBridge publisher.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import { EventBridgeEventPublisher } from "../../functions/adapters/aws/eventbridge-event-publisher.ts";
import { BusEventPublisher } from "../../local/adapters/bus-event-publisher.ts";
import { LocalEventBus } from "../../local/bus/event-bus.ts";
import { PutEventsValidationError } from "../../local/bus/put-events.ts";
import { openDatabase } from "../../local/db.ts";
import { describeEventPublisherContract } from "./event-publisher.contract.ts";

const makeBus = () => {
  const dir = mkdtempSync(join(tmpdir(), "publisher-"));
  const db = openDatabase(join(dir, "state.db"));
  const bus = new LocalEventBus({ db, rules: [], deliver: async () => "none" });
  return {
    bus,
    cleanup: async () => {
      await bus.stop();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

describeEventPublisherContract("BusEventPublisher (local)", async () => {
  const { bus, cleanup } = makeBus();
  let calls = 0;
  const counted = {
    putEvents: (body: unknown) => {
      calls += 1;
      return bus.putEvents(body);
    },
  };
  return { publisher: new BusEventPublisher(counted), bus, calls: () => calls, cleanup };
});

describeEventPublisherContract(
  "EventBridgeEventPublisher (AWS SDK against an EventBridge fake)",
  async () => {
    const { bus, cleanup } = makeBus();
    const client = new EventBridgeClient({
      region: "eu-west-1",
      credentials: { accessKeyId: "x", secretAccessKey: "y" },
    });
    const mock = mockClient(client);
    // The fake answers like PutEvents because it is the local bus: per-entry errors, whole-request ValidationException.
    mock.on(PutEventsCommand).callsFake((input) => {
      try {
        return bus.putEvents(input);
      } catch (error) {
        if (error instanceof PutEventsValidationError) {
          // EventBridge models no ValidationException class; the SDK raises a generic service error by that name.
          throw Object.assign(new Error(error.message), { name: "ValidationException", $fault: "client" });
        }
        throw error;
      }
    });
    return {
      publisher: new EventBridgeEventPublisher(client, "switchyard"),
      bus,
      calls: () => mock.commandCalls(PutEventsCommand).length,
      cleanup: async () => {
        mock.restore();
        await cleanup();
      },
    };
  },
);
