// The plugin is exported as `@nestjs/swagger/plugin`; its types sit under dist/, which the
// classic `node` module resolution of this project finds only by path.
declare module '@nestjs/swagger/plugin' {
  export * from '@nestjs/swagger/dist/plugin';
}
