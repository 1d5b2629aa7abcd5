/**
 * Prisma CLI configuration (Prisma 7 reads the connection URL from here, not from schema.prisma).
 * `prisma generate` needs no URL; `prisma migrate deploy` — where the schema engine can be had — uses
 * $DATABASE_URL. Here migrations are applied by `npm run db:migrate` instead (prisma/README.md).
 */
import { defineConfig } from 'prisma/config';

const url = process.env.DATABASE_URL;

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  ...(url ? { datasource: { url } } : {}),
});
