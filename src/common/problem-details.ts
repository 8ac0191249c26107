import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export class FieldError {
  /** The offending field, dotted for nested ones (`payload.tool_input`) or a query parameter name. */
  field!: string;
  message!: string;
}

/** RFC 9457 problem details, as every error response of the API carries them (docs/design.md §4). */
export class ProblemDetails {
  /** A URI naming the kind of problem; `about:blank` when the HTTP status says it all. */
  @ApiProperty({ example: 'about:blank' })
  type!: string;

  @ApiProperty({ example: 'Bad Request' })
  title!: string;

  @ApiProperty({ example: 400 })
  status!: number;

  @ApiProperty({ example: '2 request fields are invalid' })
  detail!: string;

  /** The request path that produced the problem. */
  @ApiProperty({ example: '/api/usage/stats' })
  instance!: string;

  @ApiProperty({ example: '2f1c8a7e-4a3b-4a43-9d0e-8c8a0f5b4f7d' })
  request_id!: string;

  @ApiPropertyOptional({ type: [FieldError] })
  errors?: FieldError[];

  /** Whether the problem comes from the usage bridge rather than from the gateway. */
  @ApiPropertyOptional()
  from_bridge?: boolean;

  /** Health endpoints only: the result of every check. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  checks?: Record<string, unknown>;
}

export const PROBLEM_TYPES = {
  validation: 'urn:usage-gateway:problem:validation',
  bridgeUnavailable: 'urn:usage-gateway:problem:bridge-unavailable',
  configRefused: 'urn:usage-gateway:problem:config-refused',
  databaseUnavailable: 'urn:usage-gateway:problem:database-unavailable',
} as const;
