import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

/** `usage-gateway-hook install | uninstall` against temp HOME folders, files compared exactly. */
const ROOT = join(__dirname, '..');
const SENDER = join(ROOT, 'bin', 'usage-gateway-hook');
const EVENTS = [
  'SessionStart',
  'SessionEnd',
  'UserPromptSubmit',
  'PreToolUse',
  'PostToolUse',
  'PostToolUseFailure',
  'PermissionRequest',
  'Notification',
  'Stop',
  'StopFailure',
  'SubagentStart',
  'SubagentStop',
  'PreCompact',
  'PostCompact',
];
const ours = { type: 'command', command: SENDER, async: true };

function run(home: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [SENDER, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: home },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('usage-gateway-hook install / uninstall', () => {
  const homes: string[] = [];
  const home = () => {
    const dir = mkdtempSync(join(tmpdir(), 'ug-home-'));
    homes.push(dir);
    return dir;
  };
  const settingsOf = (dir: string) => join(dir, '.claude', 'settings.json');
  const backupsOf = (dir: string) =>
    readdirSync(join(dir, '.claude')).filter((f) => f.startsWith('settings.json.backup-'));
  afterEach(() => {
    for (const dir of homes.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('installs every event into an empty HOME, changes nothing the second time, and uninstalls to nothing', () => {
    const dir = home();
    const first = run(dir, 'install');
    expect(first.code).toBe(0);
    const text = readFileSync(settingsOf(dir), 'utf8');
    const settings = JSON.parse(text) as { hooks: Record<string, unknown> };
    expect(Object.keys(settings.hooks)).toEqual(EVENTS);
    for (const event of EVENTS) expect(settings.hooks[event]).toEqual([{ hooks: [ours] }]);
    expect(backupsOf(dir)).toEqual([]); // there was nothing to back up

    const second = run(dir, 'install');
    expect(second).toMatchObject({ code: 0, stdout: expect.stringContaining('nothing to do') });
    expect(readFileSync(settingsOf(dir), 'utf8')).toBe(text);
    expect(backupsOf(dir)).toEqual([]);

    expect(run(dir, 'uninstall').code).toBe(0);
    expect(existsSync(settingsOf(dir))).toBe(false);
    expect(backupsOf(dir).map((f) => readFileSync(join(dir, '.claude', f), 'utf8'))).toEqual([
      text,
    ]);
  });

  it("keeps the user's own hooks, status line and settings, and uninstall gives the file back byte for byte", () => {
    const dir = home();
    mkdirSync(join(dir, '.claude'));
    const original = `${JSON.stringify(
      {
        model: 'opus',
        permissions: { allow: ['Bash(npm test:*)'] },
        hooks: {
          PreToolUse: [
            { matcher: 'Bash', hooks: [{ type: 'command', command: '/home/me/guard.sh' }] },
          ],
          Stop: [{ hooks: [{ type: 'command', command: 'say done', timeout: 5 }] }],
        },
        statusLine: { type: 'command', command: '~/.claude/my-status.sh' },
      },
      null,
      4,
    )}\n`;
    writeFileSync(settingsOf(dir), original);

    expect(run(dir, 'install').code).toBe(0);
    const installed = JSON.parse(readFileSync(settingsOf(dir), 'utf8'));
    expect(installed.model).toBe('opus');
    expect(installed.statusLine).toEqual({ type: 'command', command: '~/.claude/my-status.sh' });
    expect(installed.hooks.PreToolUse).toEqual([
      { matcher: 'Bash', hooks: [{ type: 'command', command: '/home/me/guard.sh' }] },
      { hooks: [ours] },
    ]);
    expect(installed.hooks.Stop[0]).toEqual({
      hooks: [{ type: 'command', command: 'say done', timeout: 5 }],
    });
    expect(readFileSync(settingsOf(dir), 'utf8')).toMatch(/^\{\n {4}"model"/); // its indentation
    const [backup] = backupsOf(dir);
    expect(readFileSync(join(dir, '.claude', backup), 'utf8')).toBe(original);

    expect(run(dir, 'uninstall').code).toBe(0);
    expect(readFileSync(settingsOf(dir), 'utf8')).toBe(original);
    expect(run(dir, 'uninstall').stdout).toContain('nothing to do');
  });

  it('gives a hand-formatted file back as it was written (compact arrays, spacing, key order)', () => {
    const dir = home();
    mkdirSync(join(dir, '.claude'));
    const original =
      '{\n  "model": "opus",\n  "permissions": { "allow": ["Bash(npm test:*)", "Read"] },\n' +
      '  "env": {"A": "1"},   "cleanupPeriodDays": 30\n}\n';
    writeFileSync(settingsOf(dir), original);
    expect(run(dir, 'install').code).toBe(0);
    expect(readFileSync(settingsOf(dir), 'utf8')).not.toBe(original);
    expect(run(dir, 'uninstall').code).toBe(0);
    expect(readFileSync(settingsOf(dir), 'utf8')).toBe(original);
  });

  it('sets the status line with --statusline, never over the user’s own without --force', () => {
    const statusLine = {
      type: 'command',
      command: `FORCE_COLOR=1 ${SENDER} statusline`,
      padding: 0,
    };
    const empty = home();
    expect(run(empty, 'install', '--statusline').code).toBe(0);
    const installed = JSON.parse(readFileSync(settingsOf(empty), 'utf8'));
    expect(installed.statusLine).toEqual(statusLine);
    const text = readFileSync(settingsOf(empty), 'utf8');
    expect(run(empty, 'install', '--statusline').stdout).toContain('nothing to do');
    expect(readFileSync(settingsOf(empty), 'utf8')).toBe(text);
    expect(run(empty, 'uninstall').code).toBe(0);
    expect(existsSync(settingsOf(empty))).toBe(false);

    const mine = home();
    mkdirSync(join(mine, '.claude'));
    const original = `${JSON.stringify({ statusLine: { type: 'command', command: 'my-status.sh' } }, null, 2)}\n`;
    writeFileSync(settingsOf(mine), original);
    const refused = run(mine, 'install', '--statusline');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--force');
    expect(readFileSync(settingsOf(mine), 'utf8')).toBe(original);
    expect(backupsOf(mine)).toEqual([]);

    expect(run(mine, 'install', '--statusline', '--force').code).toBe(0);
    expect(JSON.parse(readFileSync(settingsOf(mine), 'utf8')).statusLine).toEqual(statusLine);
    const [backup] = backupsOf(mine);
    expect(readFileSync(join(mine, '.claude', backup), 'utf8')).toBe(original);
    // Uninstall takes out what install put in: the hooks, and our status line for the user's own.
    expect(run(mine, 'uninstall').code).toBe(0);
    expect(readFileSync(settingsOf(mine), 'utf8')).toBe(original);
    expect(readdirSync(join(mine, '.claude')).filter((f) => !f.includes('.backup-'))).toEqual([
      'settings.json',
    ]);
  });

  it('refuses a settings file that is not valid JSON and leaves it untouched', () => {
    const dir = home();
    mkdirSync(join(dir, '.claude'));
    const broken = '{ "model": "opus", }\n';
    writeFileSync(settingsOf(dir), broken);
    const result = run(dir, 'install');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/settings\.json is not valid JSON .*left untouched/);
    expect(readFileSync(settingsOf(dir), 'utf8')).toBe(broken);
    expect(backupsOf(dir)).toEqual([]);
  });

  it('writes a project’s settings with --project, only the chosen --events, nothing with --dry-run', () => {
    const dir = home();
    const project = join(dir, 'shop');
    mkdirSync(project);
    const dry = run(dir, 'install', '--project', project, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('dry run: nothing written');
    expect(existsSync(join(project, '.claude'))).toBe(false);

    expect(run(dir, 'install', '--project', project, '--events', 'Stop,PreToolUse').code).toBe(0);
    const settings = JSON.parse(readFileSync(join(project, '.claude', 'settings.json'), 'utf8'));
    expect(Object.keys(settings.hooks)).toEqual(['Stop', 'PreToolUse']);
    expect(existsSync(join(dir, '.claude'))).toBe(false); // the user's own settings: untouched

    const bad = run(dir, 'install', '--events', 'stop; rm -rf /');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--events');
  });
});
