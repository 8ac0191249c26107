import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CircuitStateName } from './bridge-status.event';

const CIRCUIT_VALUE: Record<CircuitStateName, number> = {
  closed: 0,
  open: 1,
  'half-open': 2,
  isolated: 3,
};

/** Prometheus series of the bridge: calls by route and outcome, breaker state, restarts. */
@Injectable()
export class BridgeMetrics {
  private readonly calls: Counter<'route' | 'outcome'>;
  private readonly duration: Histogram<'route' | 'outcome'>;
  private readonly circuit: Gauge<'upstream'>;
  private readonly restarts: Counter;
  private readonly hung: Counter;

  constructor(registry: Registry) {
    this.calls = new Counter({
      name: 'bridge_requests_total',
      help: 'Calls to the usage bridge by route and outcome (success, client_error, failure, circuit_open, timeout)',
      labelNames: ['route', 'outcome'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'bridge_request_duration_seconds',
      help: 'Duration of calls to the usage bridge, retries included',
      labelNames: ['route', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.circuit = new Gauge({
      name: 'bridge_circuit_state',
      help: 'Circuit breaker state per upstream: 0 closed, 1 open, 2 half-open, 3 isolated',
      labelNames: ['upstream'],
      registers: [registry],
    });
    this.restarts = new Counter({
      name: 'bridge_restarts_total',
      help: 'Automatic restarts of the spawned bridge process',
      registers: [registry],
    });
    this.hung = new Counter({
      name: 'bridge_hung_kills_total',
      help: 'Spawned bridges killed because they stopped answering their health checks',
      registers: [registry],
    });
  }

  observeCall(route: string, outcome: string, seconds: number): void {
    this.calls.inc({ route, outcome });
    this.duration.observe({ route, outcome }, seconds);
  }

  setCircuit(upstream: string, state: CircuitStateName): void {
    this.circuit.set({ upstream }, CIRCUIT_VALUE[state]);
  }

  restarted(): void {
    this.restarts.inc();
  }

  hungKilled(): void {
    this.hung.inc();
  }
}
