import { propertyRule } from './property-rule';

/** Whether the runtime knows this IANA zone (Europe/Berlin yes, Mars/Olympus no). */
export function isTimeZone(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

export const IsTimeZone = (): PropertyDecorator =>
  propertyRule(
    'isTimeZone',
    isTimeZone,
    '$property must be an IANA time zone such as Europe/Berlin',
  );
