import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { loadConfig } from './config/env';
import { createMigrateAdapter } from './prisma/migrate-adapter';

// engine "js" runs Prisma Migrate's Wasm schema engine through a driver adapter: no native schema-engine
// download, so `prisma migrate deploy|dev|diff` work offline here and unchanged on any stock install.
export default defineConfig({
  experimental: { adapter: true },
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  engine: 'js',
  adapter: async () => createMigrateAdapter(loadConfig().databaseUrl),
});
