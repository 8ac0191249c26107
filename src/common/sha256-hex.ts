import { createHash } from 'node:crypto';

/**
 * SHA-256 of a text, as 64 lowercase hex characters: the one digest the project stores (ledger
 * keys, member tokens, webhook URLs, snapshot payloads, OTLP points).
 */
export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');
