/** OTLP's AnyValue as protobufjs turns it into a plain object (64-bit integers as strings). */
interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  bytesValue?: string;
}
export interface KeyValue {
  key?: string;
  value?: AnyValue;
}
export type Scalar = string | number | boolean;

/** An attribute list as a record of scalars (arrays and maps become their JSON text). */
export function attributesOf(list: unknown): Record<string, Scalar> {
  const out: Record<string, Scalar> = {};
  if (!Array.isArray(list)) return out;
  for (const item of list as KeyValue[]) {
    if (!item || typeof item.key !== 'string' || !item.value) continue;
    // Binary OTLP skips the JSON guard: a `__proto__` attribute is dropped here, never assigned.
    if (item.key === '__proto__') continue;
    const value = scalarOf(item.value);
    if (value !== undefined) out[item.key] = value;
  }
  return out;
}

function scalarOf(value: AnyValue): Scalar | undefined {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return JSON.stringify((value.arrayValue.values ?? []).map(scalarOf));
  return undefined;
}

/** A count attribute (an int, a double or a numeric string): a non-negative integer, or undefined. */
export function countOf(value: Scalar | undefined, max: number): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= max ? n : undefined;
}

/** A (possibly fractional) amount ≥ 0, or undefined. */
export function amountOf(value: Scalar | undefined, max: number): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 && n <= max ? n : undefined;
}

export const stringOf = (value: Scalar | undefined, max = 128): string | undefined =>
  typeof value === 'string' && value !== '' && value.length <= max ? value : undefined;

/** Nanoseconds since the epoch (a decimal string or number) to ms; undefined when absent or 0. */
export function nanosToMs(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '' || value === '0' || value === 0)
    return undefined;
  try {
    const ms = Number(BigInt(String(value)) / 1_000_000n);
    return ms > 0 ? ms : undefined;
  } catch {
    return undefined;
  }
}
