import { registerDecorator, type ValidationOptions } from 'class-validator';

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

export function IsTimeZone(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isTimeZone',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: '$property must be an IANA time zone such as Europe/Berlin', ...options },
      validator: { validate: isTimeZone },
    });
}
