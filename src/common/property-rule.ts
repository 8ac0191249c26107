import { registerDecorator, type ValidationArguments } from 'class-validator';

/**
 * A class-validator rule on one property, written as a function: `validate` sees the value and
 * (through `args.object`) the rest of the object; `message` may use `$property`.
 */
export function propertyRule(
  name: string,
  validate: (value: unknown, args: ValidationArguments) => boolean,
  message: string | ((args: ValidationArguments) => string),
): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate,
        defaultMessage: typeof message === 'string' ? () => message : message,
      },
    });
}
