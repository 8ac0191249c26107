/** The last `capacity` lines of a stream (the bridge's stderr), split across chunk boundaries. */
export class LineRingBuffer {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(private readonly capacity: number) {}

  /** Adds a chunk; returns the complete lines it finished. */
  push(chunk: string): string[] {
    const parts = (this.partial + chunk).split(/\r?\n/);
    this.partial = parts.pop() ?? '';
    const complete = parts.filter((line) => line.length > 0);
    for (const line of complete) {
      this.lines.push(line);
      if (this.lines.length > this.capacity) this.lines.shift();
    }
    return complete;
  }

  tail(): string[] {
    return this.partial ? [...this.lines, this.partial].slice(-this.capacity) : [...this.lines];
  }
}
