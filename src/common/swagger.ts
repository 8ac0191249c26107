import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import metadata from '../metadata';
import { PROBLEM_CONTENT_TYPE, ProblemDetails } from './problem-details';

export const DOCS_PATH = 'docs';

/**
 * `/docs` (Swagger UI) and `/docs-json`. DTO and response shapes come from the Nest CLI Swagger
 * plugin; its output is pre-generated in `src/metadata.ts` (`npm run swagger:metadata`) so the
 * spec is the same under `nest build`, SWC and Vitest.
 */
export async function setupSwagger(app: INestApplication, version: string): Promise<void> {
  await SwaggerModule.loadPluginMetadata(metadata);
  const config = new DocumentBuilder()
    .setTitle('usage-gateway')
    .setDescription(
      'A resilient, observable gateway in front of the Claude Code usage bridge: token usage, ' +
        'burn rate and plan predictions, hook-event ingestion and live broadcasts. Errors are ' +
        `RFC 9457 problem details (\`${PROBLEM_CONTENT_TYPE}\`).`,
    )
    .setVersion(version)
    .setLicense('MIT', 'https://opensource.org/license/mit')
    .addServer('/', 'This gateway')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'bearer')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'apiKey')
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    extraModels: [ProblemDetails],
    operationIdFactory: (controllerKey, methodKey) =>
      `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
  addProblemResponses(document);
  SwaggerModule.setup(DOCS_PATH, app, document, { jsonDocumentUrl: `${DOCS_PATH}-json` });
}

const PROBLEM_SCHEMA = { $ref: '#/components/schemas/ProblemDetails' };

/**
 * Every operation can fail with a problem-details body (bad input, limits enforced by the HTTP
 * layer such as 413 and 415, unexpected errors), so each documents the 4XX/5XX ranges with that
 * schema, and every error response a controller declared is typed as `application/problem+json`.
 * Routes under /api take a bearer token (reads, with AUTH_JWT_SECRET) or an API key (writes, with
 * API_KEYS), or nothing when neither is configured; the others are public (`security: []`).
 */
function addProblemResponses(document: OpenAPIObject): void {
  for (const [path, pathItem] of Object.entries(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = pathItem[method];
      if (!operation) continue;
      operation.security ??= path.startsWith('/api/') ? [{ bearer: [] }, { apiKey: [] }, {}] : [];
      for (const [code, response] of Object.entries(operation.responses)) {
        if (response && /^[45]/.test(code) && !('$ref' in response)) {
          response.content = { [PROBLEM_CONTENT_TYPE]: { schema: PROBLEM_SCHEMA } };
        }
      }
      operation.responses['4XX'] ??= {
        description: 'Client error (RFC 9457 problem details)',
        content: { [PROBLEM_CONTENT_TYPE]: { schema: PROBLEM_SCHEMA } },
      };
      operation.responses['5XX'] ??= {
        description: 'Server error (RFC 9457 problem details)',
        content: { [PROBLEM_CONTENT_TYPE]: { schema: PROBLEM_SCHEMA } },
      };
    }
  }
}
