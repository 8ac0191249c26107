import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { CLOCK_SKEW_S } from '../auth/jwt-verifier';
import { CLOCK, type Clock } from '../common/clock';
import type { ErrorData, SocketData } from './realtime.protocol';

/** What both transports tell a client whose credential expired, before closing it. */
export const CREDENTIAL_EXPIRED: ErrorData = {
  code: 'unauthorized',
  message: 'expired: the credential expired; authenticate again or reconnect with a new one',
};

/** How often connected credentials are checked against the clock. */
const SWEEP_INTERVAL_MS = 1000;

/** One transport's watched clients: each client's deadline, and what to do at it. */
export class ExpiryWatch<T extends object> {
  private readonly deadlines = new Map<T, number>();

  constructor(
    private readonly onExpire: (client: T) => void,
    private readonly arm: () => void,
  ) {}

  /** Watches (or stops watching, for a credential without `exp`) one client's credential. */
  watch(client: T, user: SocketData['user']): void {
    if (user?.expiresAt === undefined) {
      this.deadlines.delete(client);
      return;
    }
    // Whole seconds: a small integer, kept unboxed in the map.
    this.deadlines.set(client, Math.ceil(user.expiresAt / 1000) + CLOCK_SKEW_S);
    this.arm();
  }

  unwatch(client: T): void {
    this.deadlines.delete(client);
  }

  sweep(now: number): void {
    const nowS = now / 1000;
    for (const [client, deadline] of this.deadlines) {
      if (nowS < deadline) continue;
      this.deadlines.delete(client);
      this.onExpire(client);
    }
  }
}

/**
 * A socket's credential is checked at the handshake and then again by the clock: when a token's
 * `exp` (plus the clock skew the verifier allows) has passed, the client is told and
 * disconnected, on both transports — unless it re-authenticated in place before that
 * (`authenticate`), which replaces what is watched. API keys do not expire. One sweep a second
 * over the watched clients (a map entry each, no closure per client: an idle connection's heap is
 * measured by bench/fanout), read from the injected clock so tests move time instead of sleeping.
 */
@Injectable()
export class CredentialExpiry implements OnModuleDestroy {
  private readonly watches: Array<ExpiryWatch<object>> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(@Inject(CLOCK) private readonly now: Clock) {}

  /** A watch for one transport; `onExpire` tells and closes one of its clients. */
  channel<T extends object>(onExpire: (client: T) => void): ExpiryWatch<T> {
    const watch = new ExpiryWatch<T>(onExpire, () => this.arm());
    this.watches.push(watch as unknown as ExpiryWatch<object>);
    return watch;
  }

  sweep(): void {
    const now = this.now();
    for (const watch of this.watches) watch.sweep(now);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }
}
