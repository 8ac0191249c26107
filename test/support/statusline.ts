import { spawn } from 'node:child_process';
import { join } from 'node:path';

const SENDER = join(__dirname, '..', '..', 'bin', 'usage-gateway-hook');

/**
 * Runs `usage-gateway-hook statusline` with Claude Code's JSON on stdin: its line and exit code.
 * The figures are what is checked, not the clock: a loaded machine gets 10 s to answer unless the
 * call is about the deadline itself (`deadline: 'default'`, 300 ms).
 */
export function runStatusline(
  input: object,
  env: Record<string, string>,
  { deadline = '10000' }: { deadline?: string } = {},
): Promise<{ line: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SENDER, 'statusline'], {
      env: {
        PATH: process.env.PATH ?? '',
        ...(deadline === 'default' ? {} : { USAGE_GATEWAY_STATUSLINE_DEADLINE_MS: deadline }),
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ line: out, code }));
    child.stdin.end(JSON.stringify(input));
  });
}
