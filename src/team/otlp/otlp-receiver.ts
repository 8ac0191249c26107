import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { PeriodicJobs } from '../../cluster/periodic-jobs';
import { CLOCK, type Clock } from '../../common/clock';
import { LedgerService } from '../ledger/ledger.service';
import { decodeLogs, decodeMetrics, receiveResult, type ReceiveResult } from './otlp-decode';
import { OtlpMetricsStore } from './otlp-metrics.store';

export type { ReceiveResult } from './otlp-decode';

/**
 * How long a counted data point is remembered (an exporter resends a batch for minutes, not
 * days), and a cumulative series' last value kept after its last point.
 */
export const OTLP_POINT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

/**
 * What Claude Code's OpenTelemetry exporters send (docs/design.md §9): `claude_code.api_request`
 * events become ledger rows (priced by our table, Claude Code's `cost_usd` kept beside), its
 * counters per-member per-minute deltas (a cumulative series turned into deltas). A batch sent
 * again counts nothing twice: requests by request id, data points by series and time.
 * Decoding is otlp-decode.ts, the deltas otlp-deltas.ts, the tables OtlpMetricsStore.
 */
@Injectable()
export class OtlpReceiver implements OnApplicationBootstrap {
  constructor(
    private readonly ledger: LedgerService,
    private readonly metricsStore: OtlpMetricsStore,
    private readonly jobs: PeriodicJobs,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  onApplicationBootstrap(): void {
    this.jobs.every('otlp-prune', PRUNE_EVERY_MS, () => this.prune(), {
      cluster: true,
      runAtStart: true,
    });
  }

  /** Forgets counted points and idle cumulative series older than OTLP_POINT_RETENTION_MS. */
  prune(): Promise<number> {
    return this.metricsStore.prune(this.now() - OTLP_POINT_RETENTION_MS);
  }

  async logs(member: string, request: Record<string, unknown>): Promise<ReceiveResult> {
    const now = this.now();
    const { items, problems } = decodeLogs(request, now);
    const stored = items.length ? await this.ledger.otlp(member, items, now) : { accepted: 0 };
    return receiveResult(stored.accepted, problems);
  }

  async metrics(member: string, request: Record<string, unknown>): Promise<ReceiveResult> {
    const now = this.now();
    const { items, problems } = decodeMetrics(member, request, now);
    const accepted = items.length ? await this.metricsStore.count(member, items, now) : 0;
    return receiveResult(accepted, problems);
  }
}
