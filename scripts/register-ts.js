// Runs TypeScript sources on Node (benches, scripts, the tests' gateway process):
// `node -r ./scripts/register-ts.js file.ts`. @swc-node/register compiles each file with SWC
// (decorator metadata included, from tsconfig.json, as Nest's DI needs); the resolve hook lets a
// source name a sibling by its compiled name (`./x.js`, as src/metadata.ts does) and find `x.ts`.
'use strict';
const { registerHooks } = require('node:module');
const { existsSync } = require('node:fs');
const { fileURLToPath } = require('node:url');
const { dirname, resolve } = require('node:path');

require('@swc-node/register');

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL) {
      const parent = dirname(fileURLToPath(context.parentURL));
      const source = resolve(parent, `${specifier.slice(0, -3)}.ts`);
      if (!existsSync(resolve(parent, specifier)) && existsSync(source))
        return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
    }
    return nextResolve(specifier, context);
  },
});
