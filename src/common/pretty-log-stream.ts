import { Writable } from 'node:stream';

const LEVELS: Record<number, { name: string; colour: number }> = {
  10: { name: 'TRACE', colour: 90 },
  20: { name: 'DEBUG', colour: 36 },
  30: { name: 'INFO ', colour: 32 },
  40: { name: 'WARN ', colour: 33 },
  50: { name: 'ERROR', colour: 31 },
  60: { name: 'FATAL', colour: 35 },
};

interface Line {
  level?: number;
  time?: number;
  msg?: string;
  context?: string;
  err?: { message?: string; stack?: string };
  req?: { method?: string; path?: string };
  res?: { statusCode?: number };
  responseTime?: number;
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * pino's JSON lines as one short line each for a person at a terminal (LOG_FORMAT=pretty, the
 * default on a TTY): `14:03:07 INFO  Bootstrap  message`, a request as `GET /api/events 201
 * 4 ms`, an error with its stack below. Colours unless NO_COLOR is set. Anything that is not a pino
 * line is passed through.
 */
export class PrettyLogStream extends Writable {
  private pending = '';

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly colour: boolean,
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    const text = this.pending + chunk.toString('utf8');
    const lines = text.split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) if (line) this.out.write(`${this.format(line)}\n`);
    done();
  }

  format(raw: string): string {
    let line: Line;
    try {
      line = JSON.parse(raw) as Line;
    } catch {
      return raw;
    }
    const at = new Date(line.time ?? Date.now());
    const time = `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
    const level = LEVELS[line.level ?? 30] ?? LEVELS[30];
    const paint = (code: number, text: string) =>
      this.colour ? `\x1b[${code}m${text}\x1b[0m` : text;
    let message = line.msg ?? '';
    if (line.req && line.res)
      message = `${line.req.method} ${line.req.path} ${line.res.statusCode}${
        line.responseTime === undefined ? '' : ` ${Math.round(line.responseTime)} ms`
      }`;
    const context = line.context ? `${paint(90, line.context)}  ` : '';
    const stack = line.err?.stack ? `\n${paint(90, line.err.stack)}` : '';
    return `${paint(90, time)} ${paint(level.colour, level.name)} ${context}${message}${stack}`;
  }
}
