import { Module } from '@nestjs/common';
import { TeamModule } from '../team/team.module';
import { ModelProxy } from './model-proxy';
import { ProxyBudgets } from './proxy-budgets';
import { MemberRates } from './member-rates';
import { LedgerReadsModule } from '../team/ledger/ledger-reads.module';

/** The gateway in the request path (docs/proxy.md): model requests relayed and metered. */
@Module({
  imports: [TeamModule, LedgerReadsModule],
  providers: [ModelProxy, ProxyBudgets, MemberRates],
  exports: [ModelProxy],
})
export class ProxyModule {}
