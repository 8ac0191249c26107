import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import type { StatuslineDto, StatuslineOfficialWindowDto } from '../usage/dto/statusline.dto';
import { type Sourced, UsageService } from '../usage/usage.service';
import type { StatuslineInputDto } from './dto/limits.dto';
import type { LimitObservation } from './limit-observation.entity';
import { LimitsService } from './limits.service';

/**
 * Claude Code's status line (DESIGN §8): records the official figures it forwards, then answers
 * with our figures (session, today, block, burn rate, estimate) and the official ones.
 */
@Injectable()
export class StatuslineService {
  constructor(
    private readonly usage: UsageService,
    private readonly limits: LimitsService,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  async answer(
    member: string,
    sessionId: string | undefined,
    input?: StatuslineInputDto,
  ): Promise<Sourced<StatuslineDto>> {
    if (input?.rate_limits) await this.limits.observe(member, input);
    const [figures, official] = await Promise.all([
      this.usage.statusline(sessionId),
      this.limits.official(member),
    ]);
    const now = this.now();
    const window = (row: LimitObservation | undefined): StatuslineOfficialWindowDto | null =>
      row && row.usedPercentage !== null && row.resetsAt !== null
        ? {
            used_percentage: row.usedPercentage,
            resets_at: new Date(row.resetsAt).toISOString(),
            age_seconds: Math.max(0, Math.round((now - row.seenAt) / 1000)),
          }
        : null;
    return {
      ...figures,
      payload: {
        ...figures.payload,
        official: { five_hour: window(official.five_hour), seven_day: window(official.seven_day) },
      },
    };
  }
}
