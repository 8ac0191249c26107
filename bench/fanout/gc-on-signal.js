// Preloaded into the gateway and the bare baseline by bench/fanout (with --expose-gc). SIGUSR2 runs
// a full GC, so the heap read from /metrics right after is the live heap. SIGHUP writes what the
// process did since the last SIGHUP to BENCH_STATS_FILE and starts counting again: event-loop
// delay (p50, p99, max), garbage collection (count, total and longest pause, by kind). That is
// where a fan-out's tail comes from when it is not the sockets. Not part of the product.
'use strict';
const { writeFileSync } = require('node:fs');
const perfHooks = require('node:perf_hooks');
const { monitorEventLoopDelay, constants } = perfHooks;

process.on('SIGUSR2', () => {
  if (typeof global.gc === 'function') global.gc();
});

const delay = monitorEventLoopDelay({ resolution: 5 });
delay.enable();
const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
let gc = { count: 0, totalMs: 0, maxMs: 0, byKind: {} };
new perfHooks.PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = KINDS[entry.detail?.kind] ?? 'other';
    gc.count++;
    gc.totalMs += entry.duration;
    gc.maxMs = Math.max(gc.maxMs, entry.duration);
    gc.byKind[kind] = (gc.byKind[kind] ?? 0) + entry.duration;
  }
}).observe({ entryTypes: ['gc'] });

process.on('SIGHUP', () => {
  const file = process.env.BENCH_STATS_FILE;
  if (file)
    writeFileSync(
      file,
      JSON.stringify({
        loopDelay: {
          p50: delay.percentile(50) / 1e6,
          p99: delay.percentile(99) / 1e6,
          max: delay.max / 1e6,
        },
        gc,
      }),
    );
  delay.reset();
  gc = { count: 0, totalMs: 0, maxMs: 0, byKind: {} };
});
