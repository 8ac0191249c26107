// The floor bench/fanout compares the gateway with, measured in the same run: bare socket.io on a
// plain HTTP server, no Nest, no database, no auth. It greets a socket with a tiny `initial` (the
// clients wait for it), and `POST /api/events` emits the posted body to every socket as the
// gateway's `event` envelope does. `GET /metrics` reports the heap as the gateway's does.
// Run with --expose-gc and -r ./gc-on-signal.js. Not part of the product.
'use strict';
const http = require('node:http');
const { Server } = require('socket.io');

const port = Number(process.argv[2]);
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health/live') return res.end('ok');
  if (req.method === 'GET' && req.url === '/metrics') {
    res.setHeader('content-type', 'text/plain');
    return res.end(`nodejs_heap_size_used_bytes ${process.memoryUsage().heapUsed}\n`);
  }
  if (req.method === 'POST' && req.url === '/api/events') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const payload = JSON.parse(Buffer.concat(chunks).toString());
      io.emit('event', { type: 'event', data: { payload }, timestamp: Date.now() });
      res.statusCode = 201;
      res.end('{}');
    });
    return;
  }
  res.statusCode = 404;
  res.end();
});
const io = new Server(server, { serveClient: false, maxHttpBufferSize: 1e6 });
io.on('connection', (socket) => socket.emit('initial', { type: 'initial', data: {} }));
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  io.close();
  server.close(() => process.exit(0));
});
