/** Who a socket is (`socket.data.user`): the verified token's subject and grants. */
export interface SocketUser {
  readonly sub: string;
  readonly projects: readonly string[];
  readonly role?: string;
  /** The team member a member token (or a JWT naming one) acts as. */
  readonly member?: { readonly id: string; readonly name: string };
  /** A token's `exp` (epoch ms): the socket is closed then unless it re-authenticates. */
  readonly expiresAt?: number;
}

export const GLOBAL_ROOM = 'global';
export const sessionRoom = (sessionId: string) => `session:${sessionId}`;

/** `global`, or `<kind>:<id>` for the kinds of docs/design.md §5 (and §9's `member:<name>`). */
const ROOM = /^(session|project|user|skill|member):([\w.:@/-]{1,128})$/;

/** A team member's hook events (docs/design.md §9): the one room a member token is in. */
export const memberRoom = (name: string) => `member:${name}`;
/** The member of a `member:<name>` room. */
export const memberOfRoom = (room: string): string | undefined =>
  room.startsWith('member:') ? room.slice('member:'.length) : undefined;

/**
 * The room every client is in: `global`, or for a member token its own `member:<name>` — a
 * member sees its own events, never another member's (nor the team's alerts and local usage).
 */
export const baseRoom = (user: SocketUser | undefined): string =>
  user?.role === 'member' && user.member ? memberRoom(user.member.name) : GLOBAL_ROOM;

/** Sockets that asked for the overall skill metrics (`subscribe_metrics {skill: null}`). */
export const METRICS_ROOM = 'metrics';
export const SKILL_ROOM_PREFIX = 'skill:';
export const skillRoom = (skill: string) => `${SKILL_ROOM_PREFIX}${skill}`;

export type RoomCheck =
  { ok: true } | { ok: false; code: 'bad_request' | 'forbidden'; message: string };

/**
 * Whether a socket may join `room`. A member token only its own `member:<name>`. With auth on,
 * `user:<id>` only for its own `sub`, and `project:<id>` only when the token lists the project or
 * has role admin; with auth off (loopback only) any well-formed room.
 */
export function checkRoom(
  room: string,
  user: SocketUser | undefined,
  authEnabled: boolean,
): RoomCheck {
  if (user?.role === 'member') {
    const own = baseRoom(user);
    return room === own
      ? { ok: true }
      : { ok: false, code: 'forbidden', message: `a member token may join only ${own}` };
  }
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
