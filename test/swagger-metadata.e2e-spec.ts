import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');

describe('src/metadata.ts (Swagger CLI plugin output)', () => {
  it('matches what the plugin generates from the current sources (run `npm run swagger:metadata`)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ug-metadata-'));
    try {
      await run(
        process.execPath,
        [
          '-r',
          join(ROOT, 'scripts', 'register-ts.js'),
          join(ROOT, 'scripts', 'generate-swagger-metadata.ts'),
          dir,
        ],
        { cwd: ROOT, env: process.env },
      );
      const fresh = readFileSync(join(dir, 'metadata.ts'), 'utf8');
      const committed = readFileSync(join(ROOT, 'src', 'metadata.ts'), 'utf8');
      expect(committed).toBe(fresh);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
