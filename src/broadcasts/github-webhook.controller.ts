import {
  Body,
  Controller,
  Headers,
  HttpCode,
  NotFoundException,
  Post,
  type RawBodyRequest,
  Req,
  UnauthorizedException,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { PublicRoute } from '../auth/auth.guard';
import { AppConfig } from '../config/app-config';
import { DomainEventsService } from './domain-events.service';

interface GithubPayload {
  action?: string;
  repository?: { full_name?: string };
  pull_request?: { number?: number; title?: string; html_url?: string; user?: { login?: string } };
  issue?: { number?: number; title?: string; html_url?: string; state?: string };
}

const ISSUE_ACTIONS = new Set(['opened', 'edited', 'closed']);

/**
 * `POST /api/webhooks/github` (only with GITHUB_WEBHOOK_SECRET): the body's HMAC-SHA256 must match
 * `X-Hub-Signature-256` (constant-time compare), else 401 and nothing happens. Pull request
 * `opened` → `pr.created`, issue `opened|edited|closed` → `issue.updated`, both to
 * `project:<owner/name>`; anything else is acknowledged and ignored. Public: GitHub cannot send
 * an API key, the signature is the authentication.
 */
@ApiExcludeController()
@PublicRoute()
@Controller('api/webhooks')
export class GithubWebhookController {
  constructor(
    private readonly config: AppConfig,
    private readonly domain: DomainEventsService,
  ) {}

  @Post('github')
  @HttpCode(202)
  async receive(
    @Req() request: RawBodyRequest<FastifyRequest>,
    @Headers('x-hub-signature-256') signature: string | undefined,
    @Headers('x-github-event') kind: string | undefined,
    @Headers('x-github-delivery') delivery: string | undefined,
    @Body() body: GithubPayload,
  ): Promise<{ accepted: boolean; event_type?: string; id?: number; duplicate?: boolean }> {
    const secret = this.config.github.webhookSecret;
    if (!secret) throw new NotFoundException('the GitHub webhook is not configured');
    const expected = Buffer.from(
      `sha256=${createHmac('sha256', secret)
        .update(request.rawBody ?? Buffer.alloc(0))
        .digest('hex')}`,
    );
    const given = Buffer.from(signature ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new UnauthorizedException('X-Hub-Signature-256 does not match the body');

    // GitHub redelivers (and an attacker can replay a signed body): one delivery, one event.
    const idempotencyKey = delivery ? `github:${delivery}`.slice(0, 128) : undefined;
    const repository = body.repository?.full_name;
    if (!repository) return { accepted: false };
    const room = `project:${repository}`;
    // What the delivery becomes: a pull request opened, or an issue opened, edited or closed.
    let event: { type: string; data: Record<string, unknown> } | undefined;
    if (kind === 'pull_request' && body.action === 'opened' && body.pull_request) {
      const pr = body.pull_request;
      event = {
        type: 'pr.created',
        data: {
          repository,
          number: pr.number,
          title: pr.title,
          url: pr.html_url,
          author: pr.user?.login,
        },
      };
    } else if (kind === 'issues' && body.issue && ISSUE_ACTIONS.has(body.action ?? '')) {
      const issue = body.issue;
      event = {
        type: 'issue.updated',
        data: {
          repository,
          number: issue.number,
          title: issue.title,
          action: body.action,
          state: issue.state,
          url: issue.html_url,
        },
      };
    }
    if (event) {
      const result = await this.domain.publish(
        event.type,
        room,
        event.data,
        'github',
        idempotencyKey,
      );
      return {
        accepted: true,
        event_type: result.event_type,
        id: result.id,
        ...(result.created ? {} : { duplicate: true }),
      };
    }
    return { accepted: false };
  }
}
