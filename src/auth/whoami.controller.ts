import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Caller, Roles } from './auth.guard';
import { Authenticator, type Principal, type Role } from './authenticator';

export class WhoAmIDto {
  /** admin, viewer or member (admin for everyone while auth is off). */
  role!: Role;
  /** The team member the credential acts as, or null. */
  member!: string | null;
  /** A token's subject, `api-key`, or null while auth is off. */
  sub!: string | null;
  /** Whether this gateway asks for a credential. */
  auth_required!: boolean;
}

/** What the caller's credential is worth: the dashboard shows a member its team view only. */
@ApiTags('auth')
@Controller('api/whoami')
export class WhoAmIController {
  constructor(private readonly authenticator: Authenticator) {}

  @Get()
  @Roles('admin', 'viewer', 'member')
  @ApiOperation({ summary: 'The caller’s role and member, as this gateway sees its credential' })
  @ApiOkResponse({ type: WhoAmIDto })
  whoami(@Caller() caller?: Principal): WhoAmIDto {
    return {
      role: caller?.role ?? 'admin',
      member: caller?.member?.name ?? null,
      sub: caller?.sub ?? null,
      auth_required: this.authenticator.required,
    };
  }
}
