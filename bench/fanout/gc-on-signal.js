// Preloaded into the gateway by bench/fanout (with --expose-gc): SIGUSR2 runs a full GC, so the
// heap read from /metrics right after is the live heap. Not part of the product.
'use strict';
process.on('SIGUSR2', () => {
  if (typeof global.gc === 'function') global.gc();
});
