import { Module } from '@nestjs/common';
import { LedgerReads } from './ledger-reads';

/** The ledger's reads, for the team's services and the limits' status line and windows. */
@Module({ providers: [LedgerReads], exports: [LedgerReads] })
export class LedgerReadsModule {}
