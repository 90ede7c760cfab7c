// The EventPublisher contract: what every publisher, AWS or local, must do with Switchyard's domain events.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EventPublishError } from "../../functions/core/errors.ts";
import type { EventPublisher } from "../../functions/core/ports.ts";
import type { LocalEventBus } from "../../local/bus/event-bus.ts";

export interface PublisherUnderTest {
  publisher: EventPublisher;
  /** The bus the publisher ends up on, to see what arrived. */
  bus: LocalEventBus;
  /** PutEvents calls made so far. */
  calls: () => number;
  cleanup: () => Promise<void>;
}

const promotion = (n: number) => ({
  detailType: "Promotion Succeeded",
  detail: { promotionId: `p-${n}`, service: "checkout", environment: "staging", tag: `1.${n}.0` },
  resources: [`arn:aws:states:eu-west-1:123456789012:execution:switchyard-promote-image:p-${n}`],
});

export const describeEventPublisherContract = (name: string, make: () => Promise<PublisherUnderTest>) => {
  describe(`EventPublisher contract: ${name}`, () => {
    let subject: PublisherUnderTest;
    beforeEach(async () => {
      subject = await make();
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    const published = () => subject.bus.listEvents({ limit: 1000 }).reverse();

    it("puts each event on the switchyard bus with source switchyard, its detail-type, detail and resources", async () => {
      await subject.publisher.publish([promotion(1)]);
      const [stored] = published();
      expect(stored?.bus).toBe("switchyard");
      expect(stored?.event).toMatchObject({
        source: "switchyard",
        "detail-type": "Promotion Succeeded",
        detail: promotion(1).detail,
        resources: promotion(1).resources,
      });
    });

    it("sends more than ten events in PutEvents-sized batches, in order", async () => {
      await subject.publisher.publish(Array.from({ length: 23 }, (_, i) => promotion(i)));
      expect(subject.calls()).toBe(3);
      expect(published().map((e) => (e.event.detail as { promotionId: string }).promotionId)).toEqual(
        Array.from({ length: 23 }, (_, i) => `p-${i}`),
      );
    });

    it("makes no call for no events", async () => {
      await subject.publisher.publish([]);
      expect(subject.calls()).toBe(0);
    });

    it("rejects, naming the failed entry, when the bus refuses one entry — and keeps the ones it accepted", async () => {
      const refused = { detailType: "x".repeat(129), detail: { promotionId: "bad" } };
      const error = await subject.publisher.publish([promotion(1), refused, promotion(2)]).catch((e) => e);
      expect(error).toBeInstanceOf(EventPublishError);
      expect(error.failures).toEqual([
        expect.objectContaining({ detailType: refused.detailType, errorCode: "InvalidArgument" }),
      ]);
      expect(error.retryable).toBe(true);
      expect(published()).toHaveLength(2);
    });

    it("rejects when the whole request is refused (over 256 KB)", async () => {
      const huge = { detailType: "Promotion Succeeded", detail: { blob: "x".repeat(270_000) } };
      await expect(subject.publisher.publish([huge])).rejects.toThrow(/over the limit/);
      expect(published()).toHaveLength(0);
    });
  });
};
