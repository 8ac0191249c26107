import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, MoreThan, type Repository } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { AlertDelivery } from './alert-delivery.entity';
import { AlertRecord } from './alert.entity';
import type { AlertDto } from './dto/alert.dto';
import { DatabaseWrites } from '../database/database-writes';

export type NewAlert = Omit<AlertRecord, 'id'>;

export function toDto(record: AlertRecord): AlertDto {
  return {
    id: record.id,
    key: record.key,
    type: record.type,
    severity: record.severity,
    title: record.title,
    text: record.text,
    data: record.data,
    timestamp: record.createdAt,
  };
}

/** Alerts in the database: each key stored once, which is what makes an alert go out once. */
@Injectable()
export class AlertStore {
  constructor(
    @InjectRepository(AlertRecord) private readonly alerts: Repository<AlertRecord>,
    private readonly writes: DatabaseWrites,
  ) {}

  /**
   * Stores the alert unless its key is stored already (by this instance, another one, or before a
   * restart): the stored alert, or undefined when someone else has it. With it, in the same
   * transaction, one outbox row per webhook target (`deliverTo`: URL hashes).
   */
  async claim(
    alert: NewAlert,
    deliverTo: readonly string[] = [],
  ): Promise<AlertRecord | undefined> {
    if (await this.alerts.exists({ where: { key: alert.key } })) return undefined;
    try {
      // The unique index decides who has the key; the loser's transaction stores nothing.
      return await this.writes.transaction(async (manager) => {
        const result = await manager.insert(
          AlertRecord,
          alert as QueryDeepPartialEntity<AlertRecord>,
        );
        const id = (result.identifiers[0] as { id: number }).id;
        if (deliverTo.length)
          await manager.insert(
            AlertDelivery,
            deliverTo.map((urlHash) => ({
              alertId: id,
              urlHash,
              status: 'pending' as const,
              attempts: 0,
              nextAttemptAt: alert.createdAt,
              claimedUntil: 0,
              lastError: null,
              createdAt: alert.createdAt,
              sentAt: null,
            })),
          );
        return { ...alert, id };
      });
    } catch (error) {
      // Another instance inserted the same key between the check and the insert: the unique
      // index said no. Anything else is a real failure.
      if (await this.alerts.exists({ where: { key: alert.key } })) return undefined;
      throw error;
    }
  }

  /**
   * Without a cursor the newest `limit`, newest first (what a dashboard shows). With `afterId`
   * the next `limit` after it, oldest first: a poller that passes the last id it saw pages
   * forward and never skips one (newest-first there would jump over a burst).
   */
  list(limit: number, afterId?: number): Promise<AlertRecord[]> {
    return this.alerts.find({
      where: afterId === undefined ? {} : { id: MoreThan(afterId) },
      order: { id: afterId === undefined ? 'DESC' : 'ASC' },
      take: limit,
    });
  }

  async prune(before: number): Promise<number> {
    const result = await this.writes.write((manager) =>
      manager.delete(AlertRecord, { createdAt: LessThan(before) }),
    );
    return result.affected ?? 0;
  }
}
