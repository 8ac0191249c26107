import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
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
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api-key')
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    extraModels: [ProblemDetails],
    operationIdFactory: (controllerKey, methodKey) =>
      `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
  SwaggerModule.setup(DOCS_PATH, app, document, { jsonDocumentUrl: `${DOCS_PATH}-json` });
}
