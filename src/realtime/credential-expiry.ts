import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { CLOCK_SKEW_S } from '../auth/jwt-verifier';
import { CLOCK, type Clock } from '../common/clock';
import type { SocketData } from './realtime.protocol';

/** How often connected credentials are checked against the clock. */
const SWEEP_INTERVAL_MS = 1000;

interface Watched {
  readonly expiresAt: number;
  readonly onExpire: () => void;
}

/**
 * A socket's credential is checked at the handshake and then again by the clock: when a token's
 * `exp` (plus the clock skew the verifier allows) has passed, the client is told and
 * disconnected, on both transports — unless it re-authenticated in place before that
 * (`authenticate`), which replaces what is watched. API keys do not expire. One sweep a second
 * over the watched sockets (a map entry each), read from the injected clock so tests move time
 * instead of sleeping.
 */
@Injectable()
export class CredentialExpiry implements OnModuleDestroy {
  private readonly watched = new Map<string, Watched>();
  private timer: NodeJS.Timeout | undefined;

  constructor(@Inject(CLOCK) private readonly now: Clock) {}

  /** Watches (or stops watching, for a credential without `exp`) one client's credential. */
  watch(clientId: string, user: SocketData['user'], onExpire: () => void): void {
    if (user?.expiresAt === undefined) {
      this.watched.delete(clientId);
      return;
    }
    this.watched.set(clientId, { expiresAt: user.expiresAt + CLOCK_SKEW_S * 1000, onExpire });
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
      this.timer.unref();
    }
  }

  unwatch(clientId: string): void {
    this.watched.delete(clientId);
  }

  /** Whether a credential has expired by now (the same rule as the sweep). */
  expired(user: SocketData['user']): boolean {
    return user?.expiresAt !== undefined && this.now() >= user.expiresAt + CLOCK_SKEW_S * 1000;
  }

  sweep(): void {
    const now = this.now();
    for (const [id, { expiresAt, onExpire }] of this.watched) {
      if (now < expiresAt) continue;
      this.watched.delete(id);
      onExpire();
    }
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
