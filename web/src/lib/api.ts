import { authHeaders, type Credential } from './auth';

export type DataSource = 'bridge' | 'cache' | 'snapshot' | 'database' | 'default';

export interface Answer<T> {
  readonly data: T;
  /** X-Data-Source (usage reads), null elsewhere. */
  readonly source: DataSource | null;
  /** X-Data-Age in seconds (when not from the bridge now). */
  readonly age: number | null;
}

/** The gateway refused the credential (or wants one): the page asks for it. */
export class AuthRequired extends Error {}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** REST calls to the gateway that served the page, with the credential and the data source. */
export class Api {
  constructor(private credential: () => Credential | null) {}

  async get<T>(path: string): Promise<Answer<T>> {
    return this.call<T>('GET', path);
  }

  async post<T>(path: string, body: unknown): Promise<Answer<T>> {
    return this.call<T>('POST', path, body);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<Answer<T>> {
    const res = await fetch(path, {
      method,
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...authHeaders(this.credential()),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 401 || res.status === 403) throw new AuthRequired(`${res.status}`);
    const text = await res.text();
    const data = text ? (JSON.parse(text) as T) : (undefined as T);
    if (!res.ok && res.status !== 503)
      throw new ApiError(res.status, (data as { detail?: string })?.detail ?? res.statusText);
    const source = res.headers.get('x-data-source') as DataSource | null;
    const age = res.headers.get('x-data-age');
    return { data, source, age: age === null ? null : Number(age) };
  }
}
