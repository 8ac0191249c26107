import type { SocketData } from './realtime.protocol';

export const GLOBAL_ROOM = 'global';
export const sessionRoom = (sessionId: string) => `session:${sessionId}`;

/** `global`, or `<kind>:<id>` for the kinds of DESIGN.md §5. */
const ROOM = /^(session|project|user|skill):([\w.:@/-]{1,128})$/;

/** Sockets that asked for the overall skill metrics (`subscribe_metrics {skill: null}`). */
export const METRICS_ROOM = 'metrics';
export const SKILL_ROOM_PREFIX = 'skill:';
export const skillRoom = (skill: string) => `${SKILL_ROOM_PREFIX}${skill}`;

export type RoomCheck =
  { ok: true } | { ok: false; code: 'bad_request' | 'forbidden'; message: string };

/**
 * Whether a socket may join `room`. With auth on, `user:<id>` only for its own `sub`, and
 * `project:<id>` only when the token lists the project or has role admin; with auth off (loopback
 * only) any well-formed room.
 */
export function checkRoom(room: string, user: SocketData['user'], authEnabled: boolean): RoomCheck {
  if (room === GLOBAL_ROOM) return { ok: true };
  const match = ROOM.exec(room);
  if (!match)
    return {
      ok: false,
      code: 'bad_request',
      message: 'room must be global or session:<id>, project:<id>, user:<id>, skill:<name>',
    };
  if (!authEnabled) return { ok: true };
  const [, kind, id] = match;
  if (kind === 'user' && user?.role !== 'admin' && user?.sub !== id)
    return { ok: false, code: 'forbidden', message: `you may join only user:${user?.sub ?? ''}` };
  if (kind === 'project' && user?.role !== 'admin' && !user?.projects.includes(id))
    return { ok: false, code: 'forbidden', message: `your token does not grant project ${id}` };
  return { ok: true };
}
