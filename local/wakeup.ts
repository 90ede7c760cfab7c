// One pending wake-up for a polling loop: arming it again replaces the earlier one, so the loop runs once per arm.

/**
 * The bus and the queue each pump their SQLite table when work may be due: right after a write, or when the
 * earliest retry comes due. Only the latest arm matters.
 *
 * @example
 * const wakeup = new Wakeup(() => this.pump());
 * wakeup.arm(0);       // soon
 * wakeup.arm(5_000);   // instead: in five seconds
 * wakeup.cancel();
 */
export class Wakeup {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly run: () => void) {}

  arm(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.run();
      },
      Math.max(0, delayMs),
    );
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
