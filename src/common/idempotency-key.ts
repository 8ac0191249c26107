import type { FieldError } from './problem-details';

/** docs/design.md §4: a client-chosen key (a UUID from the hook sender), at most 128 characters. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
const KEY = /^[\x21-\x7e]{1,128}$/;

/**
 * The `Idempotency-Key` header: absent → null; otherwise 1–128 visible ASCII characters, else a
 * field error for the 400 that lists every bad field.
 */
export function readIdempotencyKey(header: string | string[] | undefined): {
  key: string | null;
  errors: FieldError[];
} {
  if (header === undefined) return { key: null, errors: [] };
  const value = Array.isArray(header) ? header.join(',') : header;
  if (KEY.test(value)) return { key: value, errors: [] };
  return {
    key: null,
    errors: [
      {
        field: IDEMPOTENCY_KEY_HEADER,
        message: 'Idempotency-Key must be 1 to 128 visible ASCII characters (a UUID, say)',
      },
    ],
  };
}
