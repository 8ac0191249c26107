import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { MembersModule } from '../team/members/members.module';
import { ApiKeyMatcher } from './api-key.matcher';
import { AuthGuard } from './auth.guard';
import { Authenticator } from './authenticator';
import { JwtVerifier } from './jwt-verifier';
import { WhoAmIController } from './whoami.controller';

/** Bearer tokens and API keys: one rule (Authenticator) for REST (a global guard) and sockets. */
@Global()
@Module({
  imports: [MembersModule],
  controllers: [WhoAmIController],
  providers: [
    JwtVerifier,
    ApiKeyMatcher,
    Authenticator,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [Authenticator, MembersModule],
})
export class AuthModule {}
