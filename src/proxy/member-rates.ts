import { Inject, Injectable, Logger } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock';
import { withDeadline } from '../common/deadline';
import { AppConfig } from '../config/app-config';
import { RedisConnection } from '../redis/redis-connection';

const MINUTE_MS = 60_000;
/** A Redis answer slower than this counts as Redis being away for this request. */
const SHARED_TIMEOUT_MS = 250;
/** Counters kept in memory at most (members × 2); past it the oldest go first. */
const MAX_LOCAL = 100_000;

/**
 * Adds `n` to a fixed one-minute window unless that passes `limit`: [admitted, ms until the window
 * ends]. One script, so instances counting at once cannot pass the limit between them.
 */
const TAKE = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {0, ttl} end
redis.call('INCRBY', KEYS[1], ARGV[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]); ttl = tonumber(ARGV[3]) end
return {1, ttl}`;

/** Why a request may not start now: which limit, and in how many seconds it may. */
export interface RateRefusal {
  readonly message: string;
  readonly retryAfterS: number;
}

/**
 * Per-member request and input-token rates on the proxy (PROXY_MEMBER_RPM,
 * PROXY_MEMBER_INPUT_TPM; 0: off): fixed one-minute windows, counted in Redis when REDIS_URL is
 * set (every instance against one count), in this instance's memory otherwise or while Redis does
 * not answer. A refused request counts for nothing.
 */
@Injectable()
export class MemberRates {
  private readonly logger = new Logger(MemberRates.name);
  private readonly local = new Map<string, { used: number; endsAt: number }>();
  private sharedDown = false;

  constructor(
    private readonly config: AppConfig,
    private readonly redis: RedisConnection,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  get enabled(): boolean {
    return this.config.proxy.memberRpm > 0 || this.config.proxy.memberInputTpm > 0;
  }

  /** Takes one request and its input tokens from the member's minute, or says which limit is hit. */
  async take(member: string, inputTokens: () => number): Promise<RateRefusal | undefined> {
    const { memberRpm, memberInputTpm } = this.config.proxy;
    if (memberRpm > 0) {
      const [ok, ms] = await this.window(`rpm:${member}`, 1, memberRpm);
      if (!ok)
        return this.refusal(`${member}'s limit of ${memberRpm} requests per minute is reached`, ms);
    }
    if (memberInputTpm > 0) {
      const tokens = inputTokens();
      const [ok, ms] = await this.window(`itpm:${member}`, tokens, memberInputTpm);
      if (!ok)
        return this.refusal(
          tokens > memberInputTpm
            ? `this request's ~${tokens} input tokens are more than ${member}'s limit of ${memberInputTpm} a minute`
            : `${member}'s limit of ${memberInputTpm} input tokens per minute is reached`,
          ms,
        );
    }
    return undefined;
  }

  private refusal(what: string, ms: number): RateRefusal {
    const retryAfterS = Math.max(1, Math.ceil(ms / 1000));
    return { message: `usage-gateway: ${what}; try again in ${retryAfterS} s`, retryAfterS };
  }

  private async window(key: string, n: number, limit: number): Promise<[boolean, number]> {
    const redis = this.redis.client;
    if (redis) {
      try {
        const [ok, ttl] = (await withDeadline(
          redis.eval(TAKE, 1, `usage-gateway:proxy-rate:${key}`, n, limit, MINUTE_MS),
          SHARED_TIMEOUT_MS,
          'Redis',
        )) as [number, number];
        if (this.sharedDown) this.logger.log('Redis is back: member rates are shared again');
        this.sharedDown = false;
        return [ok === 1, ttl];
      } catch (error) {
        if (!this.sharedDown)
          this.logger.warn(
            `Redis unavailable (${(error as Error).message}): member rates counted per instance`,
          );
        this.sharedDown = true;
      }
    }
    const now = this.now();
    let window = this.local.get(key);
    if (!window || window.endsAt <= now) {
      this.local.delete(key);
      if (this.local.size >= MAX_LOCAL) this.local.delete(this.local.keys().next().value!);
      window = { used: 0, endsAt: now + MINUTE_MS };
      this.local.set(key, window);
    }
    if (window.used + n > limit) return [false, window.endsAt - now];
    window.used += n;
    return [true, window.endsAt - now];
  }
}
