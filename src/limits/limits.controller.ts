import { Body, Controller, Get, HttpCode, Post, Query, UseInterceptors } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Caller, Roles } from '../auth/auth.guard';
import type { Principal } from '../auth/authenticator';
import { DATA_SOURCE_HEADERS } from '../usage/data-source.headers';
import { DataSourceInterceptor } from '../usage/data-source.interceptor';
import { StatuslineDto, StatuslineQueryDto } from '../usage/dto/statusline.dto';
import type { Sourced } from '../usage/usage-params';
import { LimitsDto, StatuslineInputDto } from './dto/limits.dto';
import { LimitsService, LOCAL_MEMBER } from './limits.service';
import { StatuslineService } from './statusline.service';

/** Whose figures: the caller's member, else the single user of this machine. */
const memberOf = (caller: Principal | undefined) => caller?.member?.name ?? LOCAL_MEMBER;

@ApiTags('usage')
@Controller('api/usage')
export class LimitsController {
  constructor(
    private readonly limits: LimitsService,
    private readonly statuslines: StatuslineService,
  ) {}

  @Get('limits')
  @Roles('admin', 'viewer', 'member')
  @ApiOperation({
    summary:
      "Claude Code's official 5-hour and 7-day limits beside our usage in the same windows, calibrated and projected",
    description:
      'Each window: the official percentage and reset time with its age (or null and why), our log-based usage from the window start, tokens and USD per official percent (median of past observations), and when 100 % is reached at the current rate — or that the window resets first. The figures come from the status line (`usage-gateway-hook install --statusline`), for Pro/Max subscribers.',
  })
  @ApiOkResponse({ type: LimitsDto })
  get(@Caller() caller?: Principal): Promise<LimitsDto> {
    return this.limits.limits(memberOf(caller));
  }

  @Get('statusline')
  @Roles('admin', 'viewer', 'member')
  @UseInterceptors(DataSourceInterceptor)
  @ApiOperation({
    summary: "The figures of Claude Code's status line (session, today, block, burn rate, limit)",
    description:
      'One small payload from warm state (cached bridge answers, each with its own fallback); X-Data-Source is the least fresh part’s.',
  })
  @ApiOkResponse({ type: StatuslineDto, headers: DATA_SOURCE_HEADERS })
  statusline(
    @Query() query: StatuslineQueryDto,
    @Caller() caller?: Principal,
  ): Promise<Sourced<StatuslineDto>> {
    return this.statuslines.answer(memberOf(caller), query.session_id);
  }

  @Post('statusline')
  @Roles('admin', 'member')
  @HttpCode(200)
  @UseInterceptors(DataSourceInterceptor)
  @ApiOperation({
    summary:
      'The status line: forwards what Claude Code gave it (its official limits), gets the figures',
    description:
      'What `usage-gateway-hook statusline` sends: `session_id`, `rate_limits` (recorded when they changed), `model_id`, `context_used_percentage`, `session_cost_usd`, `version`. The answer is the GET one.',
  })
  @ApiOkResponse({ type: StatuslineDto, headers: DATA_SOURCE_HEADERS })
  forward(
    @Body() input: StatuslineInputDto,
    @Caller() caller?: Principal,
  ): Promise<Sourced<StatuslineDto>> {
    return this.statuslines.answer(memberOf(caller), input.session_id, input);
  }
}
