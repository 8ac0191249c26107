import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  Matches,
  Max,
  MaxLength,
  Min,
  IsDefined,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { PUSH_LIMITS } from './push-limits';
import { LIMIT_WINDOWS, type LimitWindow } from '../../limits/limit-observation.entity';
import { AGENTS, type Agent } from '../../usage/agents';
import { MEMBER_NAME, MEMBER_NAME_RULE } from '../members/team-member.entity';

/** Entries one push may carry (the push client sends at most this many per request). */
export const MAX_ENTRIES_PER_PUSH = PUSH_LIMITS.max_entries_per_push;
/** A count above this in one request is not a real API request (Claude's context is < 2 M). */
export const MAX_TOKENS_PER_ENTRY = PUSH_LIMITS.max_tokens_per_entry;
/** From 2000-01-01 to a day ahead of the clock (clocks drift; a day is not drift). */
export const MIN_ENTRY_TS = PUSH_LIMITS.min_entry_ts;
export const MAX_AHEAD_MS = PUSH_LIMITS.max_ahead_ms;

/** A line without a message id is keyed by its file and offset: then they are required. */
const otherAgent = (entry: PushedEntryDto) => entry.agent !== undefined && entry.agent !== 'claude';
const keyedByPlace = (entry: PushedEntryDto) => !entry.message_id && !otherAgent(entry);
/** Places of a request's other lines one entry may name. */
export const MAX_EARLIER_OFFSETS = PUSH_LIMITS.max_earlier_offsets;
export const MAX_COST_USD = PUSH_LIMITS.max_cost_usd;
/** Official windows one push may carry (Codex's two per limit, a few limits). */
export const MAX_PUSHED_LIMITS = 8;
const TEXT = PUSH_LIMITS.text_fields;

// Control characters are what is refused here.
// eslint-disable-next-line no-control-regex
const PRINTABLE = /^[^\u0000-\u001f\u007f]+$/;

/** One usage-log line as the push client reads it with the bridge's parser. */
export class PushedEntryDto {
  /** Whose usage (docs/agents.md); default claude. Another agent's entry carries its
   * `event_key` and its `cost_usd` (priced by the agent's reader). */
  @IsOptional()
  @IsIn(AGENTS)
  agent?: Agent;

  /** Another agent's identity of the event (Codex: its time, model and figures; Gemini CLI: its
   * session and message id; OpenCode: its message id; Amp: its thread and event): the ledger
   * counts it once. */
  @ValidateIf(otherAgent)
  @IsDefined({ message: 'event_key is required for an entry of another agent than claude' })
  @MaxLength(TEXT.event_key)
  @Matches(PRINTABLE, { message: 'event_key must be printable text' })
  event_key?: string;

  /** Reasoning the agent reported. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_TOKENS_PER_ENTRY)
  reasoning_tokens?: number;

  /** Tokens in the total that no count shows, priced as output (Gemini's thoughts, OpenCode's
   * reasoning). */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_TOKENS_PER_ENTRY)
  extra_tokens?: number;

  /**
   * When it happened (epoch ms, the line's `timestamp`): from 2000 to a day ahead of the
   * gateway's clock (the push check, PushEntriesPipe, reads the injected clock for the latter).
   */
  @IsInt()
  @Min(MIN_ENTRY_TS)
  ts!: number;

  /** `message.model` (without `-fast`: `speed` says so); `unknown` when the line had none. */
  @MaxLength(TEXT.model)
  @Matches(PRINTABLE, { message: 'model must be printable text' })
  model!: string;

  /** `usage.speed`: standard (default) or fast. */
  @IsOptional()
  @IsIn(['standard', 'fast'])
  speed?: 'standard' | 'fast';

  @IsInt()
  @Min(0)
  @Max(MAX_TOKENS_PER_ENTRY)
  input_tokens!: number;

  @IsInt()
  @Min(0)
  @Max(MAX_TOKENS_PER_ENTRY)
  output_tokens!: number;

  @IsInt()
  @Min(0)
  @Max(MAX_TOKENS_PER_ENTRY)
  cache_creation_tokens!: number;

  @IsInt()
  @Min(0)
  @Max(MAX_TOKENS_PER_ENTRY)
  cache_read_tokens!: number;

  /** Of the cache writes, those of the 1-hour cache (`usage.cache_creation`): they cost twice
   * the input rate. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_TOKENS_PER_ENTRY)
  cache_creation_1h_tokens?: number;

  /** The line's own `costUSD` (old Claude Code versions wrote one; ccusage uses it). */
  @ValidateIf((entry: PushedEntryDto) => otherAgent(entry) || entry.cost_usd !== undefined)
  @IsDefined({ message: 'cost_usd is required for an entry of another agent than claude' })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(MAX_COST_USD)
  cost_usd?: number;

  /** The session: Claude Code's session id (the transcript's name; a sub-agent's file, its
   * parent's), as ccusage 20 names it. */
  @MaxLength(TEXT.session_id)
  @Matches(PRINTABLE, { message: 'session_id must be printable text' })
  session_id!: string;

  /** The session's project folder(s) under `projects/` ("Unknown Project" when none). */
  @MaxLength(TEXT.project_path)
  @Matches(PRINTABLE, { message: 'project_path must be printable text' })
  project_path!: string;

  /** The folder right under `projects/`. */
  @MaxLength(TEXT.project)
  @Matches(PRINTABLE, { message: 'project must be printable text' })
  project!: string;

  /** Claude Code's session (the transcript's uuid). */
  @IsOptional()
  @MaxLength(TEXT.claude_session)
  @Matches(PRINTABLE, { message: 'claude_session must be printable text' })
  claude_session?: string;

  @IsOptional()
  @MaxLength(TEXT.message_id)
  @Matches(PRINTABLE, { message: 'message_id must be printable text' })
  message_id?: string;

  @IsOptional()
  @MaxLength(TEXT.request_id)
  @Matches(PRINTABLE, { message: 'request_id must be printable text' })
  request_id?: string;

  /** A side-chain line (`isSidechain`: a /btw replay): the main chain's line of its message wins. */
  @IsOptional()
  @IsBoolean()
  sidechain?: boolean;

  /**
   * Byte offsets of this request's other lines in the same file (a streamed message's partial
   * lines): rows stored under earlier rules at those places are this request too, and leave.
   */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_EARLIER_OFFSETS)
  @IsInt({ each: true })
  @Min(0, { each: true })
  earlier_offsets?: number[];

  /** The log file (relative to its `projects/` folder) and the line's byte offset: the key of a
   * line without a message id (required then). */
  @ValidateIf(
    (entry: PushedEntryDto) =>
      keyedByPlace(entry) || entry.file !== undefined || entry.earlier_offsets !== undefined,
  )
  @IsDefined({
    message: 'file (and offset) is required for a line without message_id, or with earlier_offsets',
  })
  @MaxLength(TEXT.file)
  @Matches(PRINTABLE, { message: 'file must be printable text' })
  file?: string;

  @ValidateIf(
    (entry: PushedEntryDto) =>
      keyedByPlace(entry) || entry.offset !== undefined || entry.earlier_offsets !== undefined,
  )
  @IsDefined({
    message: 'offset (and file) is required for a line without message_id, or with earlier_offsets',
  })
  @IsInt()
  @Min(0)
  offset?: number;
}

/** POST /api/usage/entries */
/** Another agent's official window, as its machine's logs last reported it (Codex's rollouts). */
export class PushedLimitDto {
  @IsIn(['codex'])
  agent!: 'codex';

  @IsIn(LIMIT_WINDOWS)
  window!: LimitWindow;

  /** 0–100. */
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(100)
  used_percentage!: number;

  /** Unix epoch seconds when the window resets. */
  @IsInt()
  @Min(1_500_000_000)
  @Max(4_000_000_000)
  resets_at!: number;

  /** Epoch ms: when the agent reported it. */
  @IsInt()
  @Min(MIN_ENTRY_TS)
  observed_at!: number;
}

export class PushEntriesDto {
  /** The machine the logs are on (the push client sends its host name). */
  @MaxLength(128)
  @Matches(/^[\w.@:-]+$/, { message: 'machine may contain only letters, digits and _ . @ : -' })
  machine!: string;

  /** Whose usage (an admin pushing for a member); a member token pushes as itself. */
  @IsOptional()
  @Matches(MEMBER_NAME, { message: `member: ${MEMBER_NAME_RULE}` })
  member?: string;

  /** At least one, unless the push carries only `limits`. */
  @ApiProperty({ type: [PushedEntryDto], minItems: 0, maxItems: MAX_ENTRIES_PER_PUSH })
  @IsArray()
  @ValidateIf((body: PushEntriesDto) => !body.limits?.length)
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ENTRIES_PER_PUSH)
  @ValidateNested({ each: true })
  @Type(() => PushedEntryDto)
  entries!: PushedEntryDto[];

  /** Other agents' official windows as the machine's logs last reported them (Codex's), at most
   * MAX_PUSHED_LIMITS. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_PUSHED_LIMITS)
  @ValidateNested({ each: true })
  @Type(() => PushedLimitDto)
  limits?: PushedLimitDto[];
}

export class PushResultDto {
  /** Entries in this push. */
  received!: number;
  /** Stored now. */
  accepted!: number;
  /** Already in the ledger (a resend, a synced folder, the same request from another way in). */
  duplicates!: number;
  /** Stored rows of the same requests replaced by these lines (a streamed message's partial line
   * by its billed one, an OTLP row by its log line, a side-chain replay by the main chain's). */
  superseded!: number;
}
