import { loadConfig } from '../config/env';
import { applyMigrations } from '../prisma/migrate';

// Applies pending Prisma migrations to DATABASE_URL; the compose stack runs it once before the API and workers.
const config = loadConfig();
await applyMigrations(config.databaseUrl);
console.log('migrations applied');
