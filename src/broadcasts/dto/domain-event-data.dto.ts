import {
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';

const ID = /^[\w.:@/-]{1,128}$/;
const ID_MESSAGE = 'must be an id (letters, digits, _ . : @ / -, at most 128)';

/** `project.updated` */
export class ProjectUpdatedData {
  @Matches(ID, { message: `project_id ${ID_MESSAGE}` })
  project_id!: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @IsOptional()
  @IsIn(['active', 'paused', 'completed', 'archived'])
  status?: string;

  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;
}

/** `workflow.progress` */
export class WorkflowProgressData {
  @Matches(ID, { message: `workflow_id ${ID_MESSAGE}` })
  workflow_id!: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @IsNumber()
  @Min(0)
  @Max(100)
  progress!: number;

  @IsIn(['pending', 'running', 'succeeded', 'failed', 'cancelled'])
  status!: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  step?: string;
}

/** `agent.status_changed` */
export class AgentStatusChangedData {
  @Matches(ID, { message: `agent_id ${ID_MESSAGE}` })
  agent_id!: string;

  @IsIn(['idle', 'working', 'waiting', 'error', 'offline'])
  status!: string;

  @IsOptional()
  @IsString()
  @MaxLength(500)
  task?: string;
}

/** `pr.created` */
export class PrCreatedData {
  @Matches(/^[\w.-]+\/[\w.-]+$/, { message: 'repository must be owner/name' })
  repository!: string;

  @IsInt()
  @Min(1)
  number!: number;

  @IsString()
  @MaxLength(500)
  title!: string;

  @IsUrl({ protocols: ['http', 'https'], require_protocol: true })
  url!: string;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  author?: string;
}

/** `issue.updated` */
export class IssueUpdatedData {
  @Matches(/^[\w.-]+\/[\w.-]+$/, { message: 'repository must be owner/name' })
  repository!: string;

  @IsInt()
  @Min(1)
  number!: number;

  @IsOptional()
  @IsString()
  @MaxLength(500)
  title?: string;

  @IsIn(['opened', 'edited', 'closed', 'reopened'])
  action!: string;

  @IsIn(['open', 'closed'])
  state!: string;

  @IsOptional()
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true })
  url?: string;
}

/** `ai.suggestion` */
export class AiSuggestionData {
  @IsString()
  @MaxLength(200)
  title!: string;

  @IsOptional()
  @IsString()
  @MaxLength(5000)
  body?: string;

  @IsNumber()
  @Min(0)
  @Max(1)
  confidence!: number;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  target?: string;
}

export const DOMAIN_DATA_CLASSES = {
  'project.updated': ProjectUpdatedData,
  'workflow.progress': WorkflowProgressData,
  'agent.status_changed': AgentStatusChangedData,
  'pr.created': PrCreatedData,
  'issue.updated': IssueUpdatedData,
  'ai.suggestion': AiSuggestionData,
} as const;
