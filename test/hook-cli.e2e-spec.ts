import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const HOOK = join(__dirname, '..', 'bin', 'usage-gateway-hook');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [HOOK, ...args], { input: '', encoding: 'utf8', timeout: 10_000 });

describe('usage-gateway-hook --help', () => {
  it('lists the commands, and every command explains itself, exit 0', () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const result = run(...args);
      expect(result.status, args.join(' ')).toBe(0);
      expect(result.stdout).toContain('Commands:');
      for (const command of ['send', 'install', 'uninstall', 'statusline'])
        expect(result.stdout).toContain(`  ${command} `);
    }
    for (const command of ['send', 'install', 'uninstall', 'statusline']) {
      const result = run(command, '--help');
      expect(result.status, command).toBe(0);
      expect(result.stdout.split('\n')[0]).toMatch(
        new RegExp(`^Usage: usage-gateway-hook \\[?${command}`),
      );
    }
    expect(run('install', '--help').stdout).toContain('--statusline');
  });

  it('names an unknown command and where to look, exit 2', () => {
    const result = run('bogus');
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      'usage-gateway-hook: unknown command bogus (send, install, uninstall, statusline, push; --help lists them)\n',
    );
  });
});
