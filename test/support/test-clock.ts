/** A clock a test moves by hand (`advance`), for the app's injected CLOCK: no sleeping for time. */
export class TestClock {
  private at = Date.now();
  readonly now = (): number => this.at;

  advance(ms: number): void {
    this.at += ms;
  }
}
