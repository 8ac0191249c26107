import { Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../config/app-config';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Checks an `X-API-Key` against API_KEYS in constant time (keys compared as SHA-256 digests). */
@Injectable()
export class ApiKeyMatcher {
  private readonly keys: readonly Buffer[];

  constructor(config: AppConfig) {
    this.keys = config.auth.apiKeys.map(digest);
  }

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  matches(key: string | undefined): boolean {
    if (!key) return false;
    const given = digest(key);
    let found = false;
    for (const known of this.keys) found = timingSafeEqual(known, given) || found;
    return found;
  }
}
