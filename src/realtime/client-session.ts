import { CLOCK, type Clock } from '../common/clock';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type { IncomingHttpHeaders } from 'node:http';
import {
  Authenticator,
  bearerToken,
  CredentialRejectedError,
  firstString,
} from '../auth/authenticator';
import { validationFailed } from '../common/validation-failed';
import { UsageService } from '../usage/usage.service';
import { AuthenticateDto, MetricsSubscriptionDto, RoomDto, UsageRequestDto } from './dto/room.dto';
import { checkMessage } from '../common/json-guard';
import { RealtimeMetrics } from './realtime-metrics';
import { type Ack, envelope, type ErrorData, type SocketData } from './realtime.protocol';
import { baseRoom, checkRoom, METRICS_ROOM, SKILL_ROOM_PREFIX, skillRoom } from './rooms';

/** Rooms a client may be in at once, `global` included. */
export const MAX_ROOMS = 63;

/** The client commands of docs/design.md §5, the same on Socket.IO and `/stream`. */
export const CLIENT_COMMANDS = [
  'subscribe',
  'unsubscribe',
  'subscribe_metrics',
  'unsubscribe_metrics',
  'request_usage_update',
  'ping',
  'authenticate',
] as const;
export type ClientCommand = (typeof CLIENT_COMMANDS)[number];

export const isClientCommand = (name: unknown): name is ClientCommand =>
  (CLIENT_COMMANDS as readonly unknown[]).includes(name);

/** What a member token may not ask for: the team's skill metrics and this machine's usage. */
const MEMBER_REFUSED: ReadonlySet<ClientCommand> = new Set([
  'subscribe_metrics',
  'request_usage_update',
]);

/** What a transport lends the session: one client's identity, its rooms and a direct send. */
export interface SessionClient {
  readonly id: string;
  readonly user: SocketData['user'];
  /** The rooms the client is in (a transport's private rooms left out). */
  rooms(): string[];
  join(room: string): void;
  leave(room: string): void;
  /** One server event to this client only. */
  send(name: string, message: object): void;
  /** Replaces the client's credential (after `authenticate`); the transport re-arms its expiry. */
  setUser(user: SocketData['user']): void;
}

/** A refusal of a client's message: sent as `error {code, message, errors?}` and as the nack. */
export class SessionError extends Error {
  constructor(readonly error: ErrorData) {
    super(error.message);
    this.name = 'SessionError';
  }
}

/**
 * `last_event_id` of a handshake (auth field or query parameter): unset, or a non-negative
 * integer; anything else is refused before the client is connected, on both transports.
 */
export function parseLastEventId(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const id = typeof value === 'string' ? Number(value) : value;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0)
    throw new SessionError({
      code: 'bad_request',
      message: 'last_event_id must be a non-negative integer',
    });
  return id;
}

/** Where a transport found a client's handshake fields: Socket.IO's `auth`, the URL's query. */
export interface Handshake {
  readonly fields: Readonly<Record<string, unknown>>;
  readonly headers: IncomingHttpHeaders;
}

/** Rooms a handshake may ask to be back in (`rooms`): at most the room cap. */
export function parseRooms(value: unknown): string[] {
  if (value === undefined || value === null || value === '') return [];
  const list = typeof value === 'string' ? value.split(',') : value;
  if (
    !Array.isArray(list) ||
    list.length > MAX_ROOMS ||
    !list.every((room) => typeof room === 'string' && room.length <= 140)
  )
    throw new SessionError({
      code: 'bad_request',
      message: `rooms must be a list of at most ${MAX_ROOMS} room names`,
    });
  return [...new Set((list as string[]).map((room) => room.trim()).filter(Boolean))];
}

/** A session's start: who the client is (undefined with auth off, or not yet) and where to resume. */
export interface Opening {
  readonly user: SocketData['user'];
  readonly lastEventId: number | undefined;
  /** The rooms asked for at the handshake (to be back in them after a reconnect). */
  readonly rooms: string[];
  /** Whether the handshake carried a credential (a `/stream` client may send it in a frame). */
  readonly presented: boolean;
}

const BODIES: Partial<Record<ClientCommand, new () => object>> = {
  subscribe: RoomDto,
  unsubscribe: RoomDto,
  subscribe_metrics: MetricsSubscriptionDto,
  request_usage_update: UsageRequestDto,
  authenticate: AuthenticateDto,
};

/** The body as the REST rules read it: an object of the command's DTO, every bad field listed. */
function validBody<T extends object>(command: ClientCommand, body: unknown): T {
  const dto = BODIES[command];
  if (!dto) return {} as T;
  const value = body === undefined || body === null ? {} : body;
  if (typeof value !== 'object' || Array.isArray(value))
    throw new SessionError({ code: 'bad_request', message: 'the message must be an object' });
  const instance = plainToInstance(dto, value);
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) {
    const { fieldErrors } = validationFailed(errors);
    throw new SessionError({
      code: 'bad_request',
      message: `${fieldErrors.length} message field${fieldErrors.length === 1 ? ' is' : 's are'} invalid`,
      errors: [...fieldErrors],
    });
  }
  return instance as T;
}

const isMetricsRoom = (room: string) => room === METRICS_ROOM || room.startsWith(SKILL_ROOM_PREFIX);

/**
 * One client session's commands, free of any transport: validation, room policy (authorization
 * and the room cap), metrics subscriptions, usage requests and ping. Socket.IO and `/stream` are
 * thin adapters around it, so the two cannot drift apart (one contract suite runs on both).
 */
@Injectable()
export class ClientSessions {
  private readonly logger = new Logger(ClientSessions.name);

  constructor(
    private readonly authenticator: Authenticator,
    private readonly usage: UsageService,
    private readonly metrics: RealtimeMetrics,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  /**
   * Reads a handshake: `last_event_id`, then the credential (`token` or `api_key` in the fields,
   * else the Authorization bearer or X-API-Key header). Throws a SessionError (`bad_request` —
   * also for fields the message guard refuses —, or
   * `unauthorized` with the reason) to refuse the client before it is connected.
   */
  async open(handshake: Handshake, { credentialLater = false } = {}): Promise<Opening> {
    // The handshake's fields (query and Socket.IO's `auth` object) pass the message guard too.
    const problems = checkMessage(handshake.fields);
    if (problems.length)
      throw new SessionError({
        code: 'bad_request',
        message: problems[0].message,
        errors: problems,
      });
    const lastEventId = parseLastEventId(handshake.fields.last_event_id);
    const rooms = parseRooms(handshake.fields.rooms);
    const token =
      firstString(handshake.fields.token) ?? bearerToken(handshake.headers.authorization);
    const apiKey =
      firstString(handshake.fields.api_key) ?? firstString(handshake.headers['x-api-key']);
    const presented = Boolean(token || apiKey);
    if (!presented && credentialLater) return { user: undefined, lastEventId, rooms, presented };
    return { user: await this.authenticate({ token, apiKey }), lastEventId, rooms, presented };
  }

  /**
   * The rooms of `wanted` this user may be in (its base room always: `global`, or a member's
   * own), and the ones refused. A
   * reconnecting client is put back only in what its credential grants now — never in what an
   * earlier connection had.
   */
  grant(
    wanted: readonly string[],
    user: SocketData['user'],
  ): { rooms: string[]; refused: string[] } {
    const rooms = [baseRoom(user)];
    const refused: string[] = [];
    for (const room of wanted) {
      if (rooms.includes(room)) continue;
      if (rooms.length < MAX_ROOMS && checkRoom(room, user, this.authenticator.required).ok)
        rooms.push(room);
      else refused.push(room);
    }
    return { rooms, refused };
  }

  /** Checks a credential; a refusal is a SessionError `unauthorized` naming the reason. */
  async authenticate(credentials: {
    token?: string;
    apiKey?: string;
  }): Promise<SocketData['user']> {
    try {
      return await this.authenticator.authenticate(credentials);
    } catch (error) {
      this.metrics.refusedOne('unauthorized');
      throw new SessionError({
        code: 'unauthorized',
        message: error instanceof CredentialRejectedError ? error.reason : 'invalid',
      });
    }
  }

  /**
   * Runs one command and resolves with its ack; never rejects. A refusal is also sent to the
   * client as an `error` event, so a client that asked for no ack still learns of it.
   */
  async run(client: SessionClient, command: string, body: unknown): Promise<Ack> {
    try {
      if (!isClientCommand(command))
        throw new SessionError({
          code: 'bad_request',
          message: `type must be one of ${CLIENT_COMMANDS.join(', ')}`,
        });
      // The one guard before any validation walks the message: depth, then what cannot be kept.
      const problems = checkMessage(body);
      if (problems.length)
        throw new SessionError({
          code: 'bad_request',
          message: problems[0].message,
          errors: problems,
        });
      return await this.execute(client, command, body);
    } catch (error) {
      let refusal: ErrorData;
      if (error instanceof SessionError) refusal = error.error;
      else {
        this.logger.error(error instanceof Error ? error.stack : String(error));
        refusal = { code: 'internal', message: 'the message could not be handled' };
      }
      client.send('error', envelope('error', refusal, this.now()));
      return { status: 'error', ...refusal };
    }
  }

  private async execute(client: SessionClient, command: ClientCommand, body: unknown) {
    if (client.user?.role === 'member' && MEMBER_REFUSED.has(command))
      throw new SessionError({
        code: 'forbidden',
        message: `a member token may not ${command}: it sees its own events only`,
      });
    switch (command) {
      case 'subscribe': {
        const { room } = validBody<RoomDto>(command, body);
        const check = checkRoom(room, client.user, this.authenticator.required);
        if (!check.ok) throw new SessionError({ code: check.code, message: check.message });
        const rooms = client.rooms();
        if (!rooms.includes(room) && rooms.length >= MAX_ROOMS)
          throw new SessionError({
            code: 'bad_request',
            message: `at most ${MAX_ROOMS} rooms per client`,
          });
        client.join(room);
        return { status: 'success' as const, room, rooms: client.rooms() };
      }
      case 'unsubscribe': {
        const { room } = validBody<RoomDto>(command, body);
        client.leave(room);
        return { status: 'success' as const, room, rooms: client.rooms() };
      }
      case 'subscribe_metrics': {
        const skill = validBody<MetricsSubscriptionDto>(command, body).skill ?? null;
        const room = skill === null ? METRICS_ROOM : skillRoom(skill);
        for (const joined of client.rooms())
          if (isMetricsRoom(joined) && joined !== room) client.leave(joined);
        client.join(room);
        client.send(
          'subscription_confirmed',
          envelope('subscription_confirmed', { skill }, this.now()),
        );
        return { status: 'success' as const, skill };
      }
      case 'unsubscribe_metrics':
        for (const joined of client.rooms()) if (isMetricsRoom(joined)) client.leave(joined);
        return { status: 'success' as const };
      case 'request_usage_update': {
        const { session_id } = validBody<UsageRequestDto>(command, body);
        const { payload, source } = await this.usage.statsForPush();
        client.send(
          'usage_update',
          envelope(
            'usage_update',
            { data: payload, source },
            this.now(),
            session_id ? { session_id } : {},
          ),
        );
        this.metrics.emittedOne('usage_update');
        return { status: 'success' as const, source, data: payload };
      }
      case 'authenticate': {
        const { token, api_key } = validBody<AuthenticateDto>(command, body);
        const user = await this.authenticate({ token, apiKey: api_key });
        client.setUser(user);
        // What the new credential no longer grants is left at once; its base room is joined.
        const left: string[] = [];
        for (const room of client.rooms())
          if (
            !(isMetricsRoom(room) && user?.role !== 'member') &&
            !checkRoom(room, user, this.authenticator.required).ok
          ) {
            client.leave(room);
            left.push(room);
          }
        if (!client.rooms().includes(baseRoom(user))) client.join(baseRoom(user));
        return {
          status: 'success' as const,
          rooms: client.rooms(),
          left,
          expires_at: user?.expiresAt ?? null,
        };
      }
      case 'ping': {
        const serverTime = this.now();
        client.send('pong', envelope('pong', { server_time: serverTime }, serverTime));
        return { status: 'success' as const, server_time: serverTime };
      }
    }
  }
}
