import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load-config';
import { buildDataSourceOptions } from './data-source-options';
import { DeadlineClient } from './pg-deadline-client';

const postgres = loadConfig({
  DATABASE_URL: 'postgres://u@db:5432/app',
  DB_QUERY_TIMEOUT_MS: '3000',
}).database;

describe('buildDataSourceOptions', () => {
  it('gives every PostgreSQL query the deadline: statement, read (a little later), idle in transaction, keepalive', () => {
    const { extra } = buildDataSourceOptions(postgres) as { extra: Record<string, unknown> };
    expect(extra).toMatchObject({
      Client: DeadlineClient,
      connectionTimeoutMillis: 2000,
      statement_timeout: 3000,
      query_timeout: 3500,
      idle_in_transaction_session_timeout: 6000,
      keepAlive: true,
    });
  });

  it('leaves migrations without the deadline (an index on a big table may take minutes)', () => {
    const { extra } = buildDataSourceOptions(postgres, { deadlines: false }) as {
      extra: Record<string, unknown>;
    };
    expect(extra).not.toHaveProperty('statement_timeout');
    expect(extra).not.toHaveProperty('query_timeout');
    expect(extra).toMatchObject({ connectionTimeoutMillis: 2000, keepAlive: true });
  });

  it("uses the deadline as SQLite's busy wait", () => {
    const sqlite = loadConfig({ DB_QUERY_TIMEOUT_MS: '1234' }).database;
    expect(buildDataSourceOptions(sqlite)).toMatchObject({ timeout: 1234, enableWAL: true });
  });
});
