import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyMatcher } from './api-key.matcher';
import { AuthGuard } from './auth.guard';
import { JwtVerifier } from './jwt-verifier';

/** Bearer tokens and API keys for REST (a global guard) and for sockets (the verifier). */
@Global()
@Module({
  providers: [JwtVerifier, ApiKeyMatcher, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [JwtVerifier, ApiKeyMatcher],
})
export class AuthModule {}
