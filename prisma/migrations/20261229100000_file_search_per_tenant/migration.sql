-- Search within one tenant at a million rows (issue 16 item 2). A listing is always one tenant's, but
-- the filename trigram index and the search-vector index span every tenant: `q=holi` found the
-- "holi" names of all tenants in the index, then fetched each row from the table to drop the other
-- tenants' (about ten times the tenant's own matches, 150-190 ms at 1,000,000 rows). With btree_gin the
-- tenant is a column of the same GIN index, so the index alone narrows to the tenant's matches.
-- btree_gin ships with the embedded-postgres 18 build and every packaged Postgres (contrib), as pg_trgm.
-- The indexes live here, not in schema.prisma, as the trigram one did: Prisma cannot declare an
-- operator class of an extension, nor a GIN index over a scalar and an Unsupported column.
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE INDEX IF NOT EXISTS "File_tenant_filename_trgm_idx" ON "File" USING GIN ("tenantId", "filename" gin_trgm_ops);

CREATE INDEX IF NOT EXISTS "File_tenant_searchVector_idx" ON "File" USING GIN ("tenantId", "searchVector");

-- Replaced by the per-tenant index above: nothing searches file names across tenants.
DROP INDEX IF EXISTS "File_filename_trgm_idx";
