/** The credential the page uses (asked once, kept for the tab's life in sessionStorage). */

export interface Credential {
  readonly kind: 'token' | 'api_key';
  readonly value: string;
}

const KEY = 'usage-gateway.credential';

export function loadCredential(
  storage: Pick<Storage, 'getItem'> = sessionStorage,
): Credential | null {
  try {
    const parsed = JSON.parse(storage.getItem(KEY) ?? 'null') as Credential | null;
    return parsed && (parsed.kind === 'token' || parsed.kind === 'api_key') && parsed.value
      ? parsed
      : null;
  } catch {
    return null;
  }
}

export function saveCredential(c: Credential | null, storage: Storage = sessionStorage): void {
  if (c) storage.setItem(KEY, JSON.stringify(c));
  else storage.removeItem(KEY);
}

/**
 * A JWT looks like three base64url parts and a member token starts with `ugm_` (both are bearer
 * tokens); anything else is taken for an API key.
 */
export function credentialFrom(input: string): Credential {
  const value = input.trim();
  return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(value) || value.startsWith('ugm_')
    ? { kind: 'token', value }
    : { kind: 'api_key', value };
}

export function authHeaders(c: Credential | null): Record<string, string> {
  if (!c) return {};
  return c.kind === 'token' ? { authorization: `Bearer ${c.value}` } : { 'x-api-key': c.value };
}
