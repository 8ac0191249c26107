import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { serviceUrl } from './service-url';
import { TcpProxy } from './tcp-proxy';
import Database from 'better-sqlite3';

/** A database a suite owns for its lifetime: a temp SQLite file or a fresh PostgreSQL database. */
export interface TestDatabase {
  readonly kind: 'sqlite' | 'postgres';
  /** Environment that points the gateway at this database. */
  readonly env: Record<string, string>;
  drop(): Promise<void>;
}

export function createSqliteDatabase(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'ug-sqlite-'));
  return {
    kind: 'sqlite',
    env: { DB_SQLITE_PATH: join(dir, 'nested', 'gateway.sqlite') },
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Creates `ug_test_<random>` on the server of TEST_DATABASE_URL; dropped (forcefully) after. */
export async function createPostgresDatabase(serverUrl: string): Promise<TestDatabase> {
  const name = `ug_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    kind: 'postgres',
    env: { DATABASE_URL: url.toString() },
    drop: async () => {
      const client = new Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** The databases every storage-touching e2e suite runs against: SQLite always, PostgreSQL when configured. */
export function databaseKinds(): Array<'sqlite' | 'postgres'> {
  return serviceUrl('TEST_DATABASE_URL') || process.env.CI === 'true'
    ? ['sqlite', 'postgres']
    : ['sqlite'];
}

export async function createTestDatabase(kind: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  if (kind === 'sqlite') return createSqliteDatabase();
  const url = serviceUrl('TEST_DATABASE_URL');
  if (!url) throw new Error('TEST_DATABASE_URL is not set; CI must run the PostgreSQL suites');
  return createPostgresDatabase(url);
}

/** A fresh PostgreSQL database, and a TcpProxy in front of it the caller can cut or partition. */
export interface ProxiedPostgres {
  readonly db: TestDatabase;
  readonly proxy: TcpProxy;
  /** DATABASE_URL through the proxy. */
  readonly url: string;
  /** Stops the proxy, drops the database. */
  drop(): Promise<void>;
}

export async function postgresBehindProxy(serverUrl: string): Promise<ProxiedPostgres> {
  const db = await createPostgresDatabase(serverUrl);
  const target = new URL(db.env.DATABASE_URL);
  const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
  await proxy.start();
  target.host = `127.0.0.1:${proxy.port}`;
  return {
    db,
    proxy,
    url: target.toString(),
    drop: async () => {
      await proxy.stop();
      await db.drop();
    },
  };
}

/** Runs one read on a suite's database beside the running gateway (SQLite's WAL lets it read). */
export async function queryDatabase<T = Record<string, unknown>>(
  db: TestDatabase,
  sql: string,
): Promise<T[]> {
  if (db.kind === 'sqlite') {
    const sqlite = new Database(db.env.DB_SQLITE_PATH, { readonly: true });
    try {
      return sqlite.prepare(sql).all() as T[];
    } finally {
      sqlite.close();
    }
  }
  const client = new Client({ connectionString: db.env.DATABASE_URL });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}
