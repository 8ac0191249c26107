import { CLOCK, type Clock } from '../common/clock';
import { Inject, Injectable } from '@nestjs/common';
import { BridgeStatusPublisher } from '../bridge/bridge-status.publisher';
import { EventsService } from '../events/events.service';
import { UsageService } from '../usage/usage.service';
import { EventReplay } from './event-replay';
import { RealtimeMetrics } from './realtime-metrics';
import {
  envelope,
  PROTOCOL_VERSION,
  replayMessage,
  type ServerEnvelope,
} from './realtime.protocol';
import { GLOBAL_ROOM, memberOfRoom } from './rooms';

const INITIAL_EVENTS = 50;

/** One connected client, whichever transport (Socket.IO or /stream) carries it. */
export interface CatchUpClient {
  readonly id: string;
  send(name: string, message: ServerEnvelope<unknown>): void;
  /** The rooms it is granted (`global` first): replayed domain events of these, joined live. */
  readonly rooms: readonly string[];
  /** Puts the client in its live rooms (called once it is up to date). */
  joinLive(): void;
  isGone(): boolean;
  /** Resolves once the transport holds at most WS_MAX_BUFFER_BYTES unsent (or the client is gone). */
  drained(): Promise<void>;
}

/**
 * The greeting both transports give a new connection (docs/design.md §5): `connection_established`,
 * `initial` (the last 50 events — none when resuming —, the latest usage and its source, the
 * bridge status), then every stored event after the client's cursor, then live ones (EventReplay
 * makes the seam exact).
 */
@Injectable()
export class ClientCatchUp {
  constructor(
    private readonly replay: EventReplay,
    private readonly events: EventsService,
    private readonly usage: UsageService,
    private readonly bridge: BridgeStatusPublisher,
    private readonly metrics: RealtimeMetrics,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  established(
    client: Pick<CatchUpClient, 'id' | 'send'>,
    rooms: readonly string[] = [GLOBAL_ROOM],
    refused: readonly string[] = [],
  ): void {
    const now = this.now();
    client.send(
      'connection_established',
      envelope(
        'connection_established',
        {
          protocol_version: PROTOCOL_VERSION,
          socket_id: client.id,
          server_time: now,
          rooms: [...rooms],
          ...(refused.length ? { refused_rooms: [...refused] } : {}),
        },
        now,
      ),
    );
  }

  /** Sends `initial` and the replay, then joins the client live; throws if the store fails. */
  async bringUpToDate(client: CatchUpClient, lastEventId: number | undefined): Promise<void> {
    const replayed = await this.replay.replay(
      client.id,
      async (lastBroadcastId) => {
        // A member token's client is not in `global`: its own events, and not this machine's usage.
        const team = client.rooms.includes(GLOBAL_ROOM);
        const member = team ? undefined : memberOfRoom(client.rooms[0] ?? '');
        const [recent, usage] = await Promise.all([
          lastEventId === undefined
            ? this.events.latest(INITIAL_EVENTS, lastBroadcastId, member ?? (team ? undefined : ''))
            : Promise.resolve([]),
          team ? this.usage.statsForPush().catch(() => undefined) : undefined,
        ]);
        const status = this.bridge.current();
        client.send(
          'initial',
          envelope(
            'initial',
            {
              events: recent,
              usage: usage && usage.source !== 'default' ? usage.payload : null,
              usage_source: usage?.source ?? null,
              bridge: status
                ? { healthy: status.healthy, state: status.state, reason: status.reason }
                : null,
            },
            this.now(),
          ),
        );
        return lastEventId ?? recent.at(-1)?.id ?? lastBroadcastId;
      },
      (event) => {
        const replayed = replayMessage(event, client.rooms);
        if (replayed) client.send(replayed.name, replayed.message);
      },
      () => client.joinLive(),
      () => client.isGone(),
      () => client.drained(),
    );
    if (replayed) this.metrics.replayedSome(replayed);
  }
}
