import { describe, expect, it } from 'vitest';
import { PrettyLogStream } from './pretty-log-stream';

describe('PrettyLogStream', () => {
  const plain = new PrettyLogStream(process.stdout, false);
  const at = new Date(2026, 11, 2, 9, 5, 7).getTime();

  it('writes a pino line as time, level, context and message', () => {
    expect(
      plain.format(JSON.stringify({ level: 30, time: at, context: 'Bootstrap', msg: 'listening' })),
    ).toBe('09:05:07 INFO  Bootstrap  listening');
    expect(plain.format(JSON.stringify({ level: 40, time: at, msg: 'slow' }))).toBe(
      '09:05:07 WARN  slow',
    );
  });

  it('writes a request as method, path, status and time; an error with its stack', () => {
    expect(
      plain.format(
        JSON.stringify({
          level: 30,
          time: at,
          req: { method: 'POST', path: '/api/events' },
          res: { statusCode: 201 },
          responseTime: 3.6,
          msg: 'request completed',
        }),
      ),
    ).toBe('09:05:07 INFO  POST /api/events 201 4 ms');
    expect(
      plain.format(
        JSON.stringify({ level: 50, time: at, msg: 'boom', err: { stack: 'Error: x' } }),
      ),
    ).toBe('09:05:07 ERROR boom\nError: x');
  });

  it('colours only when asked, and passes anything else through', () => {
    const coloured = new PrettyLogStream(process.stdout, true);
    expect(coloured.format(JSON.stringify({ level: 30, time: at, msg: 'hi' }))).toContain('\x1b[');
    expect(plain.format('not json')).toBe('not json');
  });
});
