import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOCS, configTable, documentedVariables, envExample } from './config-docs';
import { EnvSchema } from './env.schema';
import { getMetadataStorage } from 'class-validator';

const ROOT = join(__dirname, '..', '..');

describe('the configuration docs', () => {
  it('document every variable the schema validates, and nothing else', () => {
    const validated = new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(EnvSchema, '', true, false)
        .map((m) => m.propertyName),
    );
    expect([...validated].sort()).toEqual(Object.keys(CONFIG_DOCS).sort());
    expect(documentedVariables()).toHaveLength(validated.size);
  });

  it('are what README.md and .env.example hold (npm run docs:config rewrites them)', () => {
    // Compared cell by cell: Prettier pads the README's columns.
    const cells = (table: string) =>
      table
        .split('\n')
        .filter((line) => line.startsWith('|') && !/^\|\s*-/.test(line))
        .map((line) =>
          line
            .split(/(?<!\\)\|/)
            .map((cell) => cell.trim())
            .filter(Boolean),
        );
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(
      readme.indexOf('<!-- config:start'),
      readme.indexOf('<!-- config:end'),
    );
    expect(cells(section)).toEqual(cells(configTable()));
    expect(readFileSync(join(ROOT, '.env.example'), 'utf8')).toBe(envExample());
    for (const name of Object.keys(CONFIG_DOCS))
      expect(readFileSync(join(ROOT, '.env.example'), 'utf8')).toMatch(
        new RegExp(`^${name}=`, 'm'),
      );
  });
});
