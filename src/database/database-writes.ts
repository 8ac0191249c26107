import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { dialectOf } from './sql';

const noop = () => undefined;

/**
 * The one way the stores write. On PostgreSQL each transaction has a connection of its own and
 * this passes through. TypeORM's SQLite driver hands every caller the same connection, so a
 * transaction begun while another is open becomes a SAVEPOINT inside it, and a plain write
 * lands in whichever transaction is open — a later ROLLBACK by one caller would discard what
 * another caller had already acknowledged. On SQLite, then, every write and transaction waits
 * its turn in one queue: none starts while another is open.
 */
@Injectable()
export class DatabaseWrites {
  private tail: Promise<unknown> = Promise.resolve();
  private inQueue = 0;
  readonly serial: boolean;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.serial = dialectOf(dataSource) === 'sqlite';
  }

  /** One transaction; on SQLite it begins after every earlier write has ended. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.inTurn(() => this.dataSource.transaction(work));
  }

  /** Writes outside a transaction; on SQLite never inside another caller's transaction. */
  write<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.inTurn(() => work(this.dataSource.manager));
  }

  /** SQLite: writes running or waiting their turn (0 on PostgreSQL, where none waits here). */
  get queued(): number {
    return this.inQueue;
  }

  private inTurn<T>(run: () => Promise<T>): Promise<T> {
    if (!this.serial) return run();
    this.inQueue++;
    const result = this.tail.then(run).finally(() => this.inQueue--);
    this.tail = result.then(noop, noop);
    return result;
  }
}
