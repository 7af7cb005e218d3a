import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIntake, type RunningIntake } from '../support/running-intake';

/*
 * /v1/schemas over real HTTP against the real API and Postgres: registration checks the schema, every
 * PUT adds a version, another tenant sees nothing, and each refusal has its status and error code.
 */

const TENANT = 'schemas-e2e';
const OTHER = 'schemas-e2e-other';
const KEYS = { [TENANT]: 'schemas-e2e-key-000001', [OTHER]: 'schemas-e2e-key-000002' } as const;

let intake: RunningIntake<typeof TENANT | typeof OTHER>;

beforeAll(async () => {
  intake = await startIntake({ tenants: KEYS });
});
afterAll(async () => {
  await intake?.stop();
});

const call = (tenant: keyof typeof KEYS, method: string, path: string, body?: unknown) =>
  fetch(`${intake.api.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${KEYS[tenant]}`, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function errorOf(response: Response, status: number) {
  expect(response.status).toBe(status);
  return ((await response.json()) as { error: { code: string; message: string } }).error;
}

const PRODUCT = { type: 'object', required: ['items'], properties: { items: { type: 'array' } } };

describe('the schemas API', () => {
  it('registers a schema, versions each PUT, lists and deletes it, and keeps it from other tenants', async () => {
    const created = await call(TENANT, 'PUT', '/v1/schemas/product', PRODUCT);
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name: 'product', version: 1, schema: PRODUCT });
    const next = { ...PRODUCT, required: [] };
    const updated = await call(TENANT, 'PUT', '/v1/schemas/product', next);
    expect(updated.status).toBe(200);
    expect(await updated.json()).toMatchObject({ version: 2, schema: next });

    expect(await (await call(TENANT, 'GET', '/v1/schemas/product')).json()).toMatchObject({ version: 2 });
    const list = (await (await call(TENANT, 'GET', '/v1/schemas')).json()) as { items: { name: string }[] };
    expect(list.items.map((item) => item.name)).toEqual(['product']);
    expect(await errorOf(await call(OTHER, 'GET', '/v1/schemas/product'), 404)).toMatchObject({
      code: 'schema_not_found',
    });

    expect((await call(TENANT, 'DELETE', '/v1/schemas/product')).status).toBe(204);
    expect(await errorOf(await call(TENANT, 'GET', '/v1/schemas/product'), 404)).toMatchObject({
      code: 'schema_not_found',
      message: 'No JSON Schema named product for this tenant',
    });
    expect(await errorOf(await call(TENANT, 'DELETE', '/v1/schemas/product'), 404)).toMatchObject({
      code: 'schema_not_found',
    });
    // Numbering goes on after a DELETE, so (name, version) never names two schemas.
    const again = await call(TENANT, 'PUT', '/v1/schemas/product', PRODUCT);
    expect(again.status).toBe(201);
    expect(await again.json()).toMatchObject({ version: 3 });
  });

  it('refuses an invalid schema with a 400 that says why, and a bad name with a 400 naming it', async () => {
    const invalid = await errorOf(await call(TENANT, 'PUT', '/v1/schemas/broken', { type: 'nope' }), 400);
    expect(invalid.code).toBe('invalid_schema');
    expect(invalid.message).toMatch(/draft 2020-12 meta-schema: \/type must be equal to one of the allowed values/);
    const dangling = await errorOf(await call(TENANT, 'PUT', '/v1/schemas/broken', { $ref: '#/$defs/x' }), 400);
    expect(dangling).toMatchObject({ code: 'invalid_schema' });
    expect(dangling.message).toMatch(/can't resolve reference #\/\$defs\/x/);
    const badName = await errorOf(await call(TENANT, 'GET', '/v1/schemas/-bad'), 400);
    expect(badName).toMatchObject({ code: 'invalid_request' });
    expect(badName.message).toMatch(/^name: a schema name is/);
    expect(await errorOf(await call(TENANT, 'GET', '/v1/schemas/broken'), 404)).toMatchObject({
      code: 'schema_not_found',
    });
  });

  it('refuses a PUT without a JSON body (415), and keeps NUL and unpaired surrogates exactly as sent', async () => {
    const bare = await fetch(`${intake.api.url}/v1/schemas/bare`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${KEYS[TENANT]}` },
    });
    expect(await errorOf(bare, 415)).toMatchObject({ code: 'unsupported_media_type' });
    expect(await errorOf(await call(TENANT, 'GET', '/v1/schemas/bare'), 404)).toMatchObject({
      code: 'schema_not_found',
    });
    // JSON allows both; PostgreSQL's jsonb refuses both, so a jsonb column would turn them into 500s.
    const odd = { properties: { 'a\u0000b': { description: 'x\ud800' } } };
    expect((await call(TENANT, 'PUT', '/v1/schemas/odd', odd)).status).toBe(201);
    expect(await (await call(TENANT, 'GET', '/v1/schemas/odd')).json()).toMatchObject({ schema: odd });
  });
});
