/**
 * A set of the most recent ids added (the oldest forgotten past `capacity`). While held, nothing
 * is forgotten — an outage being caught up needs every id since it began — and once released it
 * is trimmed back to its capacity.
 */
export class RecentIds {
  private readonly ids = new Set<number>();
  private readonly order: number[] = [];
  private held = false;

  constructor(private readonly capacity: number) {}

  add(id: number): void {
    if (this.ids.has(id)) return;
    this.ids.add(id);
    this.order.push(id);
    this.trim();
  }

  has(id: number): boolean {
    return this.ids.has(id);
  }

  hold(held: boolean): void {
    this.held = held;
    this.trim();
  }

  private trim(): void {
    while (!this.held && this.order.length > this.capacity)
      this.ids.delete(this.order.shift() as number);
  }
}
