import { ApiProperty } from '@nestjs/swagger';
import { IsObject, IsString, Matches, MaxLength } from 'class-validator';

export class BroadcastDto {
  /** One of project.updated, workflow.progress, agent.status_changed, pr.created, issue.updated, ai.suggestion, or custom.<name> */
  @Matches(
    /^(project\.updated|workflow\.progress|agent\.status_changed|pr\.created|issue\.updated|ai\.suggestion|custom\.[a-z][\w-]{0,48})$/,
    {
      message:
        'event_type must be project.updated, workflow.progress, agent.status_changed, pr.created, issue.updated, ai.suggestion or custom.<name>',
    },
  )
  event_type!: string;

  /** global, session:<id>, project:<id>, user:<id> or skill:<name> */
  @IsString()
  @MaxLength(140)
  @Matches(/^(global|(session|project|user|skill):[\w.:@/-]{1,128})$/, {
    message: 'room must be global or session:<id>, project:<id>, user:<id>, skill:<name>',
  })
  room!: string;

  /** Validated per event type (free for custom.*). */
  @ApiProperty({ type: 'object', additionalProperties: true })
  @IsObject()
  data!: Record<string, unknown>;
}

export class BroadcastResultDto {
  /** The event id (replay cursor). */
  id!: number;
  event_type!: string;
  room!: string;
}
