import { expect } from 'vitest';

/** Adds team members through the admin API (`x-api-key`); their tokens by name. */
export async function createMembers(
  url: string,
  adminKey: string,
  names: readonly string[],
): Promise<Record<string, string>> {
  const tokens: Record<string, string> = {};
  for (const name of names) {
    const res = await fetch(`${url}/api/team/members`, {
      method: 'POST',
      headers: { 'x-api-key': adminKey, 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    expect(res.status).toBe(201);
    tokens[name] = ((await res.json()) as { token: string }).token;
  }
  return tokens;
}
