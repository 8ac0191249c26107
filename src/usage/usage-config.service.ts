import { Inject, Injectable, Logger } from '@nestjs/common';
import { BridgeRequestError, BridgeUnavailableError } from '../bridge/bridge-call.error';
import { BridgeClient } from '../bridge/bridge-client';
import { BRIDGE_STATUS_EVENT, type BridgeStatusEvent } from '../bridge/bridge-status.event';
import { CLOCK, type Clock } from '../common/clock';
import { OnDomainEvent } from '../common/domain-events';
import { ConfigRefusedError } from './config-refused.error';
import type {
  UpdateUsageConfigDto,
  UsageConfigDto,
  UsageConfigResultDto,
} from './dto/usage-config.dto';
import { DEFAULT_USAGE_CONFIG, UsageConfigStore } from './usage-config.store';

/** How long a read reuses the stored config before looking again (another instance may change it). */
const CONFIG_MEMO_MS = 500;

/**
 * The usage config (plan, limit, time zone, reset hour, theme), with the database as its source
 * of truth: pushed to the bridge now, or when it is healthy again.
 */
@Injectable()
export class UsageConfigService {
  private readonly logger = new Logger(UsageConfigService.name);
  private config: { value: UsageConfigDto; at: number } | undefined;
  private configLoad: Promise<UsageConfigDto> | undefined;
  private pushing: Promise<void> | undefined;

  constructor(
    private readonly client: BridgeClient,
    private readonly configStore: UsageConfigStore,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  /**
   * The stored config, re-read at most every CONFIG_MEMO_MS: another instance may have changed
   * it (several instances share the database), and a read must use it within a second.
   */
  async current(): Promise<UsageConfigDto> {
    if (this.config && this.now() - this.config.at < CONFIG_MEMO_MS) return this.config.value;
    this.configLoad ??= this.configStore
      .get()
      .then(({ config }) => this.memoizeConfig(config))
      .finally(() => (this.configLoad = undefined));
    return this.configLoad;
  }

  private memoizeConfig(config: UsageConfigDto): UsageConfigDto {
    this.config = { value: config, at: this.now() };
    return config;
  }

  async getConfig(): Promise<UsageConfigDto> {
    return this.memoizeConfig((await this.configStore.get()).config);
  }

  /**
   * Stores the change, then pushes it. If the bridge refuses it (a 4xx: the same values would be
   * refused again), the change is undone and the caller gets a 422 with the bridge's reason.
   */
  async updateConfig(change: UpdateUsageConfigDto): Promise<UsageConfigResultDto> {
    const { config, previous } = await this.configStore.update(change);
    this.memoizeConfig(config);
    try {
      return await this.push(config);
    } catch (error) {
      if (!(error instanceof ConfigRefusedError)) throw error;
      await this.configStore.restore(previous, config.updated_at);
      this.config = undefined;
      throw error;
    }
  }

  async resetConfig(): Promise<UsageConfigResultDto> {
    return this.updateConfig({ ...DEFAULT_USAGE_CONFIG });
  }

  private async push(config: UsageConfigDto): Promise<UsageConfigResultDto> {
    const { updated_at: _updatedAt, ...values } = config;
    try {
      await this.client.post('/usage/config', values);
      await this.configStore.markPushed(config.updated_at);
      return {
        success: true,
        message: 'Configuration saved and applied by the usage bridge',
        data: config,
        fromBridge: true,
      };
    } catch (error) {
      if (error instanceof BridgeRequestError) {
        // Refused, not unreachable: never retried (the bridge would refuse it again).
        await this.configStore.markPushed(config.updated_at);
        throw new ConfigRefusedError(error.message, error.fieldErrors);
      }
      if (!(error instanceof BridgeUnavailableError)) throw error;
      return {
        success: true,
        message: `Configuration saved; it will be applied when the usage bridge is back (${error.message})`,
        data: config,
        fromBridge: false,
      };
    }
  }

  /** A change stored while the bridge was down is pushed as soon as it is healthy again. */
  @OnDomainEvent(BRIDGE_STATUS_EVENT)
  onBridgeStatus(event: BridgeStatusEvent): void {
    if (event.healthy) void this.pushPending();
  }

  async pushPending(): Promise<void> {
    this.pushing ??= (async () => {
      try {
        const stored = await this.configStore.get();
        if (!stored.pendingPush) return;
        const result = await this.push(stored.config);
        if (result.fromBridge) this.logger.log('pending usage config pushed to the bridge');
      } catch (error) {
        if (error instanceof ConfigRefusedError)
          return this.logger.error(
            `the stored usage config was refused by the bridge and will not be pushed again: ${error.reason}`,
          );
        this.logger.warn(`pushing the pending usage config failed: ${(error as Error).message}`);
      }
    })().finally(() => (this.pushing = undefined));
    return this.pushing;
  }
}
