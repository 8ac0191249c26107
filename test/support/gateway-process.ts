import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the URL once the gateway logs that it listens; rejects if it exits first. */
  readonly listening: Promise<string>;
}

/**
 * Runs `src/main.ts` as its own Node process (TypeScript compiled on load with SWC: scripts/register-ts.js),
 * the way `npm start` runs the built one: real signals, real exit codes.
 */
export function spawnGateway(
  env: Record<string, string>,
  options: { built?: boolean } = {},
): GatewayProcess {
  // `built`: the compiled gateway (`npm run build`), dashboard included, as `npm start` runs it.
  const args = options.built
    ? [join(ROOT, 'dist', 'main.js')]
    : ['-r', join(ROOT, 'scripts', 'register-ts.js'), join(ROOT, 'src', 'main.ts')];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      HOST: '127.0.0.1',
      BRIDGE_MODE: 'off',
      RATE_LIMIT_READS_PER_MIN: '1000000',
      RATE_LIMIT_WRITES_PER_MIN: '1000000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const listening = new Promise<string>((resolve, reject) => {
    const onData = () => {
      const match = /listening on (http:\/\/[^\s"]+)/.exec(text);
      if (match) resolve(match[1]);
    };
    child.stdout?.on('data', onData);
    void exited.then(({ code }) =>
      reject(new Error(`gateway exited (${code}) before listening:\n${text}`)),
    );
  });
  listening.catch(() => undefined);
  return { child, output: () => text, exited, listening };
}
