/**
 * Runs the Nest CLI Swagger plugin over `src/` and writes `src/metadata.ts`, which the app loads
 * at boot (see src/common/swagger.ts). Run it after changing a DTO or a controller:
 * `npm run swagger:metadata`. A test fails when the committed file is stale.
 */
import { PluginMetadataGenerator } from '@nestjs/cli/lib/compiler/plugins/plugin-metadata-generator';
import { ReadonlyVisitor } from '@nestjs/swagger/plugin';
import { join } from 'node:path';

const root = join(__dirname, '..');
process.chdir(root);
const outputDir = process.argv[2] ?? join(root, 'src');

new PluginMetadataGenerator().generate({
  visitors: [
    new ReadonlyVisitor({
      introspectComments: true,
      classValidatorShim: true,
      // Dynamic import() from CommonJS is resolved as ESM at run time: it needs the extension.
      esmCompatible: true,
      pathToSource: join(root, 'src'),
    }),
  ],
  outputDir,
  watch: false,
  tsconfigPath: 'tsconfig.build.json',
  printDiagnostics: false,
});
