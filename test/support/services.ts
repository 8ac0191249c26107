import { describe, it } from 'vitest';
import { serviceUrl } from './service-url';

/**
 * Service-backed suites need a real PostgreSQL / Redis. Locally, without the variable, the suite
 * is skipped with a notice; under CI=true a missing variable is a failure, never a silent skip.
 */
export { serviceUrl };

export function describeWithService(
  variable: 'TEST_DATABASE_URL' | 'TEST_REDIS_URL',
  name: string,
  suite: (url: string) => void,
): void {
  const url = serviceUrl(variable);
  if (url) {
    describe(name, () => suite(url));
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it(`needs ${variable} (CI=true: service-backed suites must run)`, () => {
        throw new Error(
          `${variable} is not set; CI must run the ${name} suite against a real service`,
        );
      });
    });
    return;
  }
  console.warn(`[skip] ${name}: set ${variable} to run this service-backed suite`);
  // The suite's body is not run at all: it may use the URL as soon as it is defined.
  describe.skip(name, () => {
    it(`needs ${variable}`, () => undefined);
  });
}
