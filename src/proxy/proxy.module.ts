import { Module } from '@nestjs/common';
import { TeamModule } from '../team/team.module';
import { AnthropicProxy } from './anthropic-proxy';

/** The gateway in the request path (docs/proxy.md): model requests relayed and metered. */
@Module({
  imports: [TeamModule],
  providers: [AnthropicProxy],
  exports: [AnthropicProxy],
})
export class ProxyModule {}
