import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Caller, Roles } from '../auth/auth.guard';
import type { Principal } from '../auth/authenticator';
import { type PushEntries, PushEntriesPipe } from './dto/push-entries.check';
import { MAX_ENTRIES_PER_PUSH, PushEntriesDto, PushResultDto } from './dto/usage-entries.dto';
import { LedgerService } from './ledger/ledger.service';
import { LimitsService } from '../limits/limits.service';

@ApiTags('team')
@Controller('api/usage/entries')
export class UsageEntriesController {
  constructor(
    private readonly ledger: LedgerService,
    private readonly limits: LimitsService,
  ) {}

  @Post()
  @Roles('admin', 'member')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Push usage-log entries into the team ledger (what `usage-gateway-hook push` sends)',
    description: `At most ${MAX_ENTRIES_PER_PUSH} entries per request; \`Content-Encoding: gzip\` accepted. Each request counts once (message id + request id, else machine + file + offset): a resend, a synced folder or the OTLP row of the same request is not counted again. A member token pushes as its member.`,
  })
  @ApiBody({ type: PushEntriesDto })
  @ApiOkResponse({ type: PushResultDto })
  async push(
    @Body(PushEntriesPipe) body: PushEntries,
    @Caller() caller?: Principal,
  ): Promise<PushResultDto> {
    const result = await this.ledger.push(caller, body);
    // Codex's official windows, as the member's machine last read them.
    if (body.limits?.length)
      await this.limits.observePushed(LedgerService.writer(caller, body.member), body.limits);
    return result;
  }
}
