import {
  Body,
  Controller,
  ForbiddenException,
  Headers,
  HttpCode,
  Post,
  Res,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Caller, Roles } from '../auth/auth.guard';
import type { Principal } from '../auth/authenticator';
import { LOCAL_MEMBER } from '../limits/limits.service';
import { OtlpCodec, OtlpDecodeError, type OtlpEncoding, type OtlpSignal } from './otlp/otlp-codec';
import { OtlpReceiver, type ReceiveResult } from './otlp/otlp-receiver';
import { BadRequestException } from '@nestjs/common';

const DESCRIPTION =
  'OTLP/HTTP (binary protobuf or OTLP/JSON, `Content-Encoding: gzip` accepted), as Claude Code exports it with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at this gateway and a member token in `OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer …`. Answers as the OTLP specification says: 200 with `partialSuccess` counting what was rejected, 400 for a body that does not decode (not retried), 415 for another content type, 401/403, 429 and 503 with `Retry-After` (retried by exporters).';

/** The OTLP/HTTP receiver (docs/design.md §9) on the gateway's own port. */
@ApiTags('team')
@Controller('v1')
@Roles('admin', 'member')
export class OtlpController {
  private readonly codec = new OtlpCodec();

  constructor(private readonly receiver: OtlpReceiver) {}

  @Post('metrics')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Claude Code's counters (token.usage, cost.usage, sessions, lines, commits, PRs, active time) and Gemini CLI's (token usage, requests)",
    description: DESCRIPTION,
  })
  @ApiConsumes('application/x-protobuf', 'application/json')
  @ApiBody({ schema: { type: 'object', description: 'ExportMetricsServiceRequest' } })
  @ApiOkResponse({ description: 'ExportMetricsServiceResponse' })
  metrics(
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Caller() caller?: Principal,
  ): Promise<unknown> {
    return this.receive('metrics', body, contentType, reply, caller, (member, request) =>
      this.receiver.metrics(member, request),
    );
  }

  @Post('logs')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Agents' events: Claude Code's `claude_code.api_request`, Codex's `codex.sse_event` (`response.completed`) and Gemini CLI's `gemini_cli.api_response` become ledger rows",
    description: `${DESCRIPTION} Other events (prompts, tool results) are not stored; a record whose text is not UTF-8 is refused by name.`,
  })
  @ApiConsumes('application/x-protobuf', 'application/json')
  @ApiBody({ schema: { type: 'object', description: 'ExportLogsServiceRequest' } })
  @ApiOkResponse({ description: 'ExportLogsServiceResponse' })
  logs(
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Caller() caller?: Principal,
  ): Promise<unknown> {
    return this.receive('logs', body, contentType, reply, caller, (member, request) =>
      this.receiver.logs(member, request),
    );
  }

  private async receive(
    signal: OtlpSignal,
    body: unknown,
    contentType: string | undefined,
    reply: FastifyReply,
    caller: Principal | undefined,
    store: (member: string, request: Record<string, unknown>) => Promise<ReceiveResult>,
  ): Promise<unknown> {
    const encoding = encodingOf(contentType);
    const member = caller ? caller.member?.name : LOCAL_MEMBER;
    if (!member)
      throw new ForbiddenException(
        'OTLP needs a member token (or a JWT naming a member): whose usage would it be?',
      );
    let request: Record<string, unknown>;
    try {
      request = this.codec.decode(signal, encoding, body);
    } catch (error) {
      if (error instanceof OtlpDecodeError) throw new BadRequestException(error.message);
      throw error;
    }
    const result = await store(member, request);
    const answer = this.codec.encodeResponse(signal, encoding, result.rejected, result.message);
    void reply.header(
      'content-type',
      encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json',
    );
    return answer;
  }
}

function encodingOf(contentType: string | undefined): OtlpEncoding {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/x-protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  throw new UnsupportedMediaTypeException(
    `OTLP/HTTP takes application/x-protobuf or application/json, not ${type || 'no content type'}`,
  );
}
