import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const FAKE = join(__dirname, '..', 'fixtures', 'bridges', 'fake_bridge.py');

/** A fake bridge process (real HTTP) that counts the /usage requests it receives. */
export class FakeBridge {
  private child!: ChildProcess;
  url = '';

  async start(...args: string[]): Promise<this> {
    this.child = spawn('python3', [FAKE, '--port', '0', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve) =>
      createInterface({ input: this.child.stdout! }).once('line', resolve),
    );
    this.url = /http:\/\/\S+/.exec(line)![0];
    return this;
  }

  async count(): Promise<number> {
    return ((await (await fetch(`${this.url}/__count`)).json()) as { count: number }).count;
  }

  stop(): void {
    this.child?.kill('SIGKILL');
  }
}
