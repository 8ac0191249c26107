import { type DynamicModule, Global, Module } from '@nestjs/common';
import { CLOCK, type Clock, systemClock } from './clock';

/**
 * The one clock (epoch ms) of every piece whose behaviour depends on the time: cache and health
 * ages, breaker half-open, restart uptime, retention and snapshot cut-offs, skill-metric windows,
 * socket rate limits. `createApp(config, { clock })` swaps it, so tests move time instead of
 * sleeping.
 */
@Global()
@Module({})
export class ClockModule {
  static forRoot(clock: Clock = systemClock): DynamicModule {
    return {
      module: ClockModule,
      providers: [{ provide: CLOCK, useValue: clock }],
      exports: [CLOCK],
    };
  }
}
