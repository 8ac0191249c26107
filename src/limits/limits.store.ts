import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, MoreThanOrEqual, type Repository } from 'typeorm';
import { DatabaseWrites } from '../database/database-writes';
import {
  type LimitAgent,
  LimitObservation,
  type LimitWindow,
  type ObservationKind,
} from './limit-observation.entity';

/** `seen_at` of an unchanged figure is written at most this often. */
const SEEN_WRITE_EVERY_MS = 60_000;

export interface OfficialFigure {
  /** Whose figure (Claude Code's when not said). */
  readonly agent?: LimitAgent;
  readonly window: LimitWindow;
  readonly percent: number;
  readonly resetsAt: number;
}

/**
 * Official limit figures per member: a row per change. The latest is read from the database each
 * time (one indexed row): several instances see one history.
 */
@Injectable()
export class LimitsStore {
  constructor(
    @InjectRepository(LimitObservation) private readonly rows: Repository<LimitObservation>,
    private readonly writes: DatabaseWrites,
  ) {}

  /** The newest figure of a member's window (or limit reached) of an agent, if any. */
  async latest(
    member: string,
    kind: ObservationKind,
    agent: LimitAgent = 'claude',
  ): Promise<LimitObservation | null> {
    return this.rows.findOne({
      where: { member, agent, kind },
      order: { observedAt: 'DESC', id: 'DESC' },
    });
  }

  /**
   * Records a figure: a new row when the percentage or the reset time changed (returned with
   * `changed: true`), else the latest row's `seen_at` moves (at most once a minute).
   */
  async record(
    member: string,
    figure: OfficialFigure,
    at: number,
    sessionId: string | null,
  ): Promise<{ row: LimitObservation; changed: boolean }> {
    const agent = figure.agent ?? 'claude';
    const latest = await this.latest(member, figure.window, agent);
    if (
      latest &&
      latest.usedPercentage === figure.percent &&
      latest.resetsAt === figure.resetsAt &&
      at >= latest.observedAt
    ) {
      if (at - latest.seenAt >= SEEN_WRITE_EVERY_MS) {
        await this.writes.write((m) =>
          m.update(LimitObservation, { id: latest.id }, { seenAt: at }),
        );
        latest.seenAt = at;
      }
      return { row: latest, changed: false };
    }
    const row = await this.insert({
      member,
      agent,
      kind: figure.window,
      usedPercentage: figure.percent,
      resetsAt: figure.resetsAt,
      observedAt: at,
      seenAt: at,
      sessionId,
    });
    return { row, changed: true };
  }

  /** A limit was hit (a StopFailure hook with `error: rate_limit`). */
  reached(member: string, at: number, sessionId: string | null): Promise<LimitObservation> {
    return this.insert({
      member,
      agent: 'claude',
      kind: 'reached',
      usedPercentage: null,
      resetsAt: null,
      observedAt: at,
      seenAt: at,
      sessionId,
    });
  }

  /** A window's figures first seen since `since`, oldest first (calibration, trend). */
  history(
    member: string,
    window: LimitWindow,
    since: number,
    limit = 200,
    agent: LimitAgent = 'claude',
  ): Promise<LimitObservation[]> {
    return this.rows.find({
      where: { member, agent, kind: window, observedAt: MoreThanOrEqual(since) },
      order: { observedAt: 'ASC', id: 'ASC' },
      take: limit,
    });
  }

  /** The newest 5-hour and 7-day figure of an agent for every member (the team summary), one query. */
  latestOfAll(agent: LimitAgent = 'claude'): Promise<LimitObservation[]> {
    return this.rows
      .createQueryBuilder('o')
      .innerJoin(
        (q) =>
          q
            .select('l.member', 'member')
            .addSelect('l.kind', 'kind')
            .addSelect('MAX(l.id)', 'id')
            .from(LimitObservation, 'l')
            .where("l.kind IN ('five_hour', 'seven_day') AND l.agent = :agent", { agent })
            .groupBy('l.member')
            .addGroupBy('l.kind'),
        'latest',
        'latest.id = o.id',
      )
      .getMany();
  }

  /** Deletes figures first seen before `before` (EVENT_RETENTION_DAYS); returns how many. */
  async prune(before: number): Promise<number> {
    const result = await this.writes.write((m) =>
      m.delete(LimitObservation, { observedAt: LessThan(before) }),
    );
    return result.affected ?? 0;
  }

  private async insert(values: Omit<LimitObservation, 'id'>): Promise<LimitObservation> {
    const result = await this.writes.write((m) => m.insert(LimitObservation, values));
    return { ...values, id: (result.identifiers[0] as { id: number }).id };
  }
}
