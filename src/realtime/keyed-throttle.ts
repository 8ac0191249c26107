/**
 * Runs `run(key)` at most once per `intervalMs` per key: the first trigger runs at once, triggers
 * during the interval are coalesced into one run at its end.
 */
export class KeyedThrottle {
  private readonly windows = new Map<string, { pending: boolean; timer: NodeJS.Timeout }>();

  constructor(
    private readonly intervalMs: number,
    private readonly run: (key: string) => void,
  ) {}

  trigger(key: string): void {
    const window = this.windows.get(key);
    if (window) window.pending = true;
    else this.fire(key);
  }

  stop(): void {
    for (const { timer } of this.windows.values()) clearTimeout(timer);
    this.windows.clear();
  }

  private fire(key: string): void {
    const timer = setTimeout(() => {
      const ended = this.windows.get(key);
      this.windows.delete(key);
      if (ended?.pending) this.fire(key);
    }, this.intervalMs);
    timer.unref();
    this.windows.set(key, { pending: false, timer });
    this.run(key);
  }
}
