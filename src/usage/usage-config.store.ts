import { CLOCK, type Clock } from '../common/clock';
import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import type { UsageConfigDto } from './dto/usage-config.dto';
import type { Plan, Theme } from './dto/usage-query.dto';
import { UsageConfigRecord } from './usage-config.entity';
import { DatabaseWrites } from '../database/database-writes';
import { dialectOf } from '../database/sql';

const ROW_ID = 1;
export const DEFAULT_USAGE_CONFIG = {
  plan: 'pro' as Plan,
  custom_limit_tokens: null,
  timezone: 'UTC',
  reset_hour: null,
  theme: 'auto' as Theme,
} as const;

export type UsageConfigValues = Omit<UsageConfigDto, 'updated_at'>;

export interface StoredUsageConfig {
  readonly config: UsageConfigDto;
  /** A change the bridge has not acknowledged yet. */
  readonly pendingPush: boolean;
}

function toDto(row: UsageConfigRecord): UsageConfigDto {
  return {
    plan: row.plan as Plan,
    custom_limit_tokens: row.customLimitTokens,
    timezone: row.timezone,
    reset_hour: row.resetHour,
    theme: row.theme as Theme,
    updated_at: new Date(row.updatedAt).toISOString(),
  };
}

/** The usage config in the database, the source of truth (one row). */
@Injectable()
export class UsageConfigStore {
  constructor(
    @InjectRepository(UsageConfigRecord) private readonly configs: Repository<UsageConfigRecord>,
    private readonly writes: DatabaseWrites,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  async get(): Promise<StoredUsageConfig> {
    const row = await this.configs.findOneBy({ id: ROW_ID });
    if (!row)
      return {
        config: { ...DEFAULT_USAGE_CONFIG, updated_at: new Date(0).toISOString() },
        pendingPush: false,
      };
    return { config: toDto(row), pendingPush: row.pendingPush };
  }

  /**
   * Merges `change` into the stored config in one transaction and marks it pending; returns the
   * new config and the row it replaced (to undo a change the bridge refuses).
   */
  async update(
    change: Partial<UsageConfigValues>,
    now = this.now(),
  ): Promise<StoredUsageConfig & { previous: UsageConfigRecord | null }> {
    // The very first change on two instances at once: both find no row to lock and insert it;
    // the second insert breaks the key, and is run again against the row that now exists.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.merge(change, now);
      } catch (error) {
        const code = (error as { driverError?: { code?: string }; code?: string }).driverError
          ?.code;
        if (attempt >= 3 || (code !== '23505' && code !== 'SQLITE_CONSTRAINT_PRIMARYKEY'))
          throw error;
      }
    }
  }

  private merge(
    change: Partial<UsageConfigValues>,
    now: number,
  ): Promise<StoredUsageConfig & { previous: UsageConfigRecord | null }> {
    return this.writes.transaction(async (manager) => {
      const repo = manager.getRepository(UsageConfigRecord);
      // On PostgreSQL the row is locked for the read-modify-write: two concurrent changes of
      // different fields both land (without it, the later write put back the field the earlier
      // one had changed). SQLite has one writer at a time and no row locks.
      const postgres = dialectOf(manager) === 'postgres';
      const current = await repo.findOne({
        where: { id: ROW_ID },
        ...(postgres ? { lock: { mode: 'pessimistic_write' as const } } : {}),
      });
      const base: UsageConfigValues = current ? toDto(current) : { ...DEFAULT_USAGE_CONFIG };
      // Absent fields (undefined on a DTO instance) keep their stored value; null clears one.
      const given = Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined));
      const next = { ...base, ...given } as UsageConfigValues;
      const row = repo.create({
        id: ROW_ID,
        plan: next.plan,
        customLimitTokens: next.custom_limit_tokens,
        timezone: next.timezone,
        resetHour: next.reset_hour,
        theme: next.theme,
        pendingPush: true,
        updatedAt: now,
      });
      const previous = current && repo.create({ ...current });
      // The first change INSERTs (save() would look again and UPDATE a row another instance
      // inserted meanwhile — with this change's defaults over that one's fields): a concurrent
      // first change breaks the key instead, and this one runs again on the locked row.
      if (current) await repo.save(row);
      else await repo.insert(row);
      return { config: toDto(row), pendingPush: true, previous };
    });
  }

  /**
   * Puts back the row `update` replaced (or removes the first one), unless the config changed
   * again since `updatedAt` — a newer change is not undone.
   */
  async restore(previous: UsageConfigRecord | null, updatedAt: string): Promise<void> {
    await this.writes.transaction(async (manager) => {
      const repo = manager.getRepository(UsageConfigRecord);
      const current = await repo.findOneBy({ id: ROW_ID });
      if (!current || current.updatedAt !== Date.parse(updatedAt)) return;
      if (previous) await repo.save(previous);
      else await repo.delete({ id: ROW_ID });
    });
  }

  /** Clears the pending mark, unless the config changed again since `updatedAt`. */
  async markPushed(updatedAt: string): Promise<void> {
    await this.writes.write((manager) =>
      manager.update(
        UsageConfigRecord,
        { id: ROW_ID, updatedAt: Date.parse(updatedAt) },
        { pendingPush: false },
      ),
    );
  }
}
