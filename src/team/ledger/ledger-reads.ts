import { Injectable } from '@nestjs/common';
import type { Agent } from '../../usage/agents';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { SqlParams } from '../../database/sql';
import type { QuarterRow } from '../reports/member-block';

const TOKENS =
  'input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens + extra_tokens';
type Num = string | number | null;

/** A member's (or the team's) figures read from the ledger's entries and roll-ups. */
export interface ModelUsageRow {
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheCreationTokens: number;
  readonly cacheReadTokens: number;
  /** Tokens in the total that no count shows (other agents'). */
  readonly extraTokens: number;
  readonly costUsd: number;
  readonly entries: number;
}

/**
 * The ledger's reads for one member or the whole team, used by the status line, the limits'
 * windows and the budgets: sums over the roll-ups (by quarter hour) and over the entries.
 */
@Injectable()
export class LedgerReads {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Cost and tokens of the member's quarters from `fromQuarter` on (the whole team without one),
   * of every agent (budgets) or of one (`agent`: the status line's are Claude Code's).
   */
  async totalSince(
    member: string | undefined,
    fromQuarter: number,
    agent?: Agent,
    /** Inside a caller's transaction (its connection), instead of one of the pool's. */
    via: DataSource | EntityManager = this.db,
  ): Promise<{ costUsd: number; tokens: number }> {
    const p = SqlParams.for(via);
    // (Parameters in the order they appear: `only` is written last.)
    const only = () => (agent === undefined ? '' : ` AND agent = ${p.value(agent)}`);
    const sql =
      member === undefined
        ? `SELECT SUM(cost_usd) AS cost, SUM(${TOKENS}) AS tokens FROM usage_team_rollups ` +
          `WHERE quarter >= ${p.value(fromQuarter)}${only()}`
        : `SELECT SUM(cost_usd) AS cost, SUM(${TOKENS}) AS tokens FROM usage_member_rollups ` +
          `WHERE member = ${p.value(member)} AND quarter >= ${p.value(fromQuarter)}${only()}`;
    const [row] = (await via.query(sql, p.values)) as { cost: Num; tokens: Num }[];
    return { costUsd: Number(row?.cost ?? 0), tokens: Number(row?.tokens ?? 0) };
  }

  /**
   * The member's Claude Code quarters with requests from `fromQuarter` on, in order: all tokens,
   * cost, and input + output tokens (`limit_tokens`, the plans' measure). Blocks are Claude Code's.
   */
  async quarters(
    member: string,
    fromQuarter: number,
  ): Promise<(QuarterRow & { limit_tokens: string | number })[]> {
    const p = SqlParams.for(this.db);
    return (await this.db.query(
      `SELECT member, quarter, SUM(${TOKENS}) AS tokens, SUM(input_tokens + output_tokens) AS limit_tokens, ` +
        `SUM(cost_usd) AS cost FROM usage_member_rollups WHERE member = ${p.value(member)} ` +
        `AND agent = 'claude' AND quarter >= ${p.value(fromQuarter)} GROUP BY member, quarter HAVING SUM(entries) > 0 ORDER BY quarter`,
      p.values,
    )) as (QuarterRow & { limit_tokens: string | number })[];
  }

  /** The time of the member's latest request on any machine. */
  async lastActivity(member: string): Promise<number | undefined> {
    const p = SqlParams.for(this.db);
    const [row] = (await this.db.query(
      `SELECT MAX(last_ts) AS last_ts FROM usage_machine_activity WHERE member = ${p.value(member)}`,
      p.values,
    )) as { last_ts: Num }[];
    return row?.last_ts == null ? undefined : Number(row.last_ts);
  }

  /** The member's requests in one Claude Code session: how many, their cost and tokens. */
  async session(
    member: string,
    sessionId: string,
  ): Promise<{ entries: number; costUsd: number; tokens: number }> {
    const p = SqlParams.for(this.db);
    const [row] = (await this.db.query(
      `SELECT COUNT(*) AS n, SUM(cost_usd) AS cost, SUM(${TOKENS}) AS tokens FROM usage_entries ` +
        `WHERE member = ${p.value(member)} AND claude_session = ${p.value(sessionId)}`,
      p.values,
    )) as { n: Num; cost: Num; tokens: Num }[];
    return {
      entries: Number(row?.n ?? 0),
      costUsd: Number(row?.cost ?? 0),
      tokens: Number(row?.tokens ?? 0),
    };
  }

  /** The member's requests of one agent (Claude Code's by default) in [since, until) (epoch
   * ms), summed per model: what an official window held. */
  async byModel(
    member: string,
    since: number,
    until: number,
    agent: Agent = 'claude',
  ): Promise<ModelUsageRow[]> {
    const p = SqlParams.for(this.db);
    const rows = (await this.db.query(
      `SELECT model, SUM(input_tokens) AS i, SUM(output_tokens) AS o, SUM(cache_creation_tokens) AS cc, ` +
        `SUM(cache_read_tokens) AS cr, SUM(extra_tokens) AS x, SUM(cost_usd) AS cost, COUNT(*) AS n FROM usage_entries ` +
        `WHERE member = ${p.value(member)} AND agent = ${p.value(agent)} AND ts >= ${p.value(Math.floor(since))} ` +
        `AND ts < ${p.value(Math.max(Math.floor(since), Math.floor(until)))} GROUP BY model`,
      p.values,
    )) as Record<string, Num>[];
    return rows.map((row) => ({
      model: String(row.model),
      inputTokens: Number(row.i ?? 0),
      outputTokens: Number(row.o ?? 0),
      cacheCreationTokens: Number(row.cc ?? 0),
      cacheReadTokens: Number(row.cr ?? 0),
      extraTokens: Number(row.x ?? 0),
      costUsd: Number(row.cost ?? 0),
      entries: Number(row.n ?? 0),
    }));
  }
}
