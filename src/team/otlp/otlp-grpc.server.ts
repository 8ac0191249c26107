import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import * as grpc from '@grpc/grpc-js';
import { CredentialRejectedError, Authenticator } from '../../auth/authenticator';
import { AppConfig } from '../../config/app-config';
import { HostAllowList } from '../../common/host-allow-list';
import { LOCAL_MEMBER } from '../../limits/limits.service';
import { OtlpCodec, OtlpDecodeError, type OtlpSignal } from './otlp-codec';
import { OtlpReceiver, type ReceiveResult } from './otlp-receiver';

/** The OTLP collector services (opentelemetry-proto: collector/{logs,metrics}/v1). */
const PATHS: Record<OtlpSignal, string> = {
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
};
/** An answer is a few bytes of partial success; a request at most the HTTP body limit. */
const MAX_SEND_BYTES = 64 * 1024;

/** A refusal as a gRPC status (exporters retry UNAVAILABLE and RESOURCE_EXHAUSTED only). */
class GrpcRefusal extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/**
 * OTLP/gRPC (docs/team.md; off unless OTLP_GRPC_PORT is set): the `Export` services of logs and
 * metrics, answered as OTLP/HTTP's are — the same decoding, the same receiver, the same member
 * credential (`authorization: Bearer …` or `x-api-key` metadata), the same Host rule (the
 * `:authority`) and the same size limit (a larger message is RESOURCE_EXHAUSTED, not read).
 */
@Injectable()
export class OtlpGrpcServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OtlpGrpcServer.name);
  private readonly codec = new OtlpCodec();
  private readonly hosts: HostAllowList;
  private server: grpc.Server | undefined;
  /** The port it listens on (the configured one; 0 asks for any free port, for tests). */
  port: number | undefined;

  constructor(
    @Inject(AppConfig) private readonly config: AppConfig,
    private readonly receiver: OtlpReceiver,
    private readonly authenticator: Authenticator,
  ) {
    this.hosts = HostAllowList.forServer(config.server);
  }

  async onApplicationBootstrap(): Promise<void> {
    const wanted = this.config.team.otlpGrpcPort;
    if (wanted === undefined) return;
    const server = new grpc.Server({
      'grpc.max_receive_message_length': this.config.server.bodyLimitBytes,
      'grpc.max_send_message_length': MAX_SEND_BYTES,
    });
    for (const signal of ['logs', 'metrics'] as const)
      server.addService(
        {
          Export: {
            path: PATHS[signal],
            requestStream: false,
            responseStream: false,
            requestSerialize: (value: Buffer) => value,
            requestDeserialize: (bytes: Buffer) => bytes,
            responseSerialize: (value: Buffer) => value,
            responseDeserialize: (bytes: Buffer) => bytes,
          },
        },
        { Export: this.handler(signal) },
      );
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        `${this.config.server.host}:${wanted}`,
        grpc.ServerCredentials.createInsecure(),
        (error, port) => (error ? reject(error) : resolve(port)),
      ),
    );
    this.server = server;
    this.logger.log(`OTLP/gRPC on ${this.config.server.host}:${this.port}`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 2000);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private handler(signal: OtlpSignal): grpc.handleUnaryCall<Buffer, Buffer> {
    return (call, callback) => {
      this.export(signal, call)
        .then((answer) => callback(null, answer))
        .catch((error: unknown) => {
          if (error instanceof GrpcRefusal)
            return callback({ code: error.code, details: error.message });
          this.logger.warn(`OTLP/gRPC ${signal} export failed: ${(error as Error).message}`);
          // The database or another part is away: the exporter tries again later.
          callback({ code: grpc.status.UNAVAILABLE, details: 'the gateway cannot store it now' });
        });
    };
  }

  private async export(
    signal: OtlpSignal,
    call: grpc.ServerUnaryCall<Buffer, Buffer>,
  ): Promise<Buffer> {
    if (!this.hosts.allows(call.getHost()))
      throw new GrpcRefusal(grpc.status.PERMISSION_DENIED, 'this host name is not served here');
    const member = await this.member(call.metadata);
    let request: Record<string, unknown>;
    try {
      request = this.codec.decode(signal, 'protobuf', call.request);
    } catch (error) {
      if (error instanceof OtlpDecodeError)
        throw new GrpcRefusal(grpc.status.INVALID_ARGUMENT, error.message);
      throw error;
    }
    const result: ReceiveResult =
      signal === 'logs'
        ? await this.receiver.logs(member, request)
        : await this.receiver.metrics(member, request);
    return this.codec.encodeResponse(signal, 'protobuf', result.rejected, result.message) as Buffer;
  }

  /** Whose usage: the member of the credential (as OTLP/HTTP's `receive`). */
  private async member(metadata: grpc.Metadata): Promise<string> {
    const first = (name: string) => {
      const value = metadata.get(name)[0];
      return typeof value === 'string' ? value : undefined;
    };
    const authorization = first('authorization');
    const token = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
    let caller;
    try {
      caller = await this.authenticator.authenticate({ apiKey: first('x-api-key'), token });
    } catch (error) {
      if (error instanceof CredentialRejectedError)
        throw new GrpcRefusal(grpc.status.UNAUTHENTICATED, `credential refused: ${error.reason}`);
      throw error;
    }
    if (caller && caller.role !== 'admin' && caller.role !== 'member')
      throw new GrpcRefusal(grpc.status.PERMISSION_DENIED, `a ${caller.role} may not send usage`);
    const member = caller ? caller.member?.name : LOCAL_MEMBER;
    if (!member)
      throw new GrpcRefusal(
        grpc.status.PERMISSION_DENIED,
        'OTLP needs a member token (or a JWT naming a member): whose usage would it be?',
      );
    return member;
  }
}
