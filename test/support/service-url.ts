/** The URL of a real service for service-backed suites (and the drills), if one is configured. */
export function serviceUrl(variable: 'TEST_DATABASE_URL' | 'TEST_REDIS_URL'): string | undefined {
  return process.env[variable] || undefined;
}
