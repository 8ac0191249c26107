import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../../common/sha256-hex';

/** Member tokens: `ugm_` + 32 random bytes (base64url). Recognisable, so they never reach the JWT verifier. */
export const MEMBER_TOKEN_PREFIX = 'ugm_';
const SHAPE = /^ugm_[A-Za-z0-9_-]{43}$/;

export const newMemberToken = (): string =>
  `${MEMBER_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;

export const isMemberTokenShaped = (token: string): boolean =>
  token.startsWith(MEMBER_TOKEN_PREFIX);

export const isWellFormedMemberToken = (token: string): boolean => SHAPE.test(token);

/** What is stored of a token: its SHA-256 (a 256-bit random secret needs no slow hash). */
export const hashMemberToken = (token: string): string => sha256Hex(token);

export const memberTokenHint = (token: string): string => token.slice(0, 8);
