import { describe, expect, it } from 'vitest';
import { checkRoom } from './rooms';

describe('checkRoom', () => {
  const alice = { sub: 'alice', projects: ['shop'] };
  it('accepts the room kinds of the protocol and refuses anything else', () => {
    for (const room of ['global', 'session:6f1c-2b9e', 'project:shop', 'user:alice', 'skill:pdf'])
      expect(checkRoom(room, alice, false).ok).toBe(true);
    for (const room of [
      '',
      'lobby',
      'session:',
      'session:a b',
      'user:<x>',
      `skill:${'x'.repeat(129)}`,
    ])
      expect(checkRoom(room, alice, false)).toMatchObject({ ok: false, code: 'bad_request' });
  });
  it('with auth, allows only the own user room and granted projects (admins: all)', () => {
    expect(checkRoom('user:alice', alice, true).ok).toBe(true);
    expect(checkRoom('user:bob', alice, true)).toMatchObject({ ok: false, code: 'forbidden' });
    expect(checkRoom('project:shop', alice, true).ok).toBe(true);
    expect(checkRoom('project:bank', alice, true)).toMatchObject({ ok: false, code: 'forbidden' });
    expect(checkRoom('project:bank', { sub: 'root', projects: [], role: 'admin' }, true).ok).toBe(
      true,
    );
  });
});
