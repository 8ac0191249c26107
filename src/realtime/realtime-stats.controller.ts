import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RealtimeMetrics } from './realtime-metrics';
import { SocketServerRef } from './socket-server.ref';
import { StreamServer } from './stream-server';

export class RealtimeStatsDto {
  /** Socket.IO connections of this instance. */
  connections!: number;
  /** Plain WebSocket (/stream) connections of this instance. */
  stream_connections!: number;
  /** Sockets per room (this instance). */
  rooms!: Record<string, number>;
  /** Server events emitted since start (a broadcast counts once). */
  events_emitted!: number;
  uptime_seconds!: number;
}

@ApiTags('realtime')
@Controller('api/realtime')
export class RealtimeStatsController {
  constructor(
    private readonly ref: SocketServerRef,
    private readonly metrics: RealtimeMetrics,
    private readonly stream: StreamServer,
  ) {}

  @Get('stats')
  @ApiOperation({ summary: 'Socket connections, sockets per room, events emitted, uptime' })
  @ApiOkResponse({ type: RealtimeStatsDto })
  stats(): RealtimeStatsDto {
    const server = this.ref.server;
    const rooms: Record<string, number> = {};
    if (server) {
      const adapter = server.of('/').adapter;
      for (const [room, members] of adapter.rooms)
        if (!adapter.sids.has(room)) rooms[room] = members.size;
    }
    return {
      connections: server?.engine.clientsCount ?? 0,
      stream_connections: this.stream.connections,
      rooms,
      events_emitted: this.metrics.eventsEmitted,
      uptime_seconds: this.metrics.uptimeSeconds(),
    };
  }
}
