import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corruptJpeg, eicarTestFile, photoWithExif } from '../support/sample-files';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { waitUntil } from '../support/wait-until';

/*
 * GET /v1/analytics/summary on the real stack: files of known outcomes go through the real pipeline
 * (clamd finds EICAR, sharp rejects the corrupt JPEG), and the summary read from the analytics views
 * must count exactly those uploads, per status, and nothing of another tenant's.
 */

const KEYS = { 'analytics-e2e': 'analytics-e2e-key-0001', 'analytics-other': 'analytics-other-key-0002' } as const;
type Tenant = keyof typeof KEYS;

let intake: RunningIntake<Tenant>;

interface Figures {
  uploads: number;
  bytes: number;
  ready: number;
  timeToReadyP50Ms: number | null;
  timeToReadyP95Ms: number | null;
}
interface Summary {
  from: string;
  to: string;
  groupBy: string;
  totals: Figures;
  groups: (Figures & { key: string })[];
}

beforeAll(async () => {
  intake = await startIntake({ tenants: KEYS });
}, 180_000);

afterAll(async () => {
  await intake?.stop();
});

const summary = (tenant: Tenant, query: string) =>
  fetch(`${intake.api.url}/v1/analytics/summary?${query}`, { headers: { Authorization: `Bearer ${KEYS[tenant]}` } });

describe('GET /v1/analytics/summary', () => {
  it('counts exactly the uploads made, per status, from the analytics views', async () => {
    const client = intake.clients['analytics-e2e'];
    const since = new Date(Date.now() - 60_000).toISOString();
    const photo = await photoWithExif({ width: 64, height: 48, orientation: 1 });
    const uploads = [
      { body: photo, filename: 'a.jpg' },
      { body: photo, filename: 'b.jpg' },
      { body: eicarTestFile(), filename: 'eicar.txt' },
      { body: corruptJpeg(), filename: 'broken.jpg' },
    ];
    const accepted = [];
    for (const { body, filename } of uploads) accepted.push(await client.uploadFile(body, { filename }));
    // Another tenant's upload must not show.
    await intake.clients['analytics-other'].uploadFile(photo, { filename: 'other.jpg' });

    const files = await Promise.all(accepted.map((file) => client.waitForFile(file.id, 90_000)));
    const expected: Record<string, number> = {};
    for (const file of files) expected[file.status] = (expected[file.status] ?? 0) + 1;
    expect(expected).toEqual({ READY: 2, INFECTED: 1, REJECTED: 1 });

    const query = `from=${encodeURIComponent(since)}&groupBy=status`;
    // The row is written at the outcome; wait until no upload still counts as PROCESSING.
    const body = await waitUntil('the summary without PROCESSING uploads', async () => {
      const res = await summary('analytics-e2e', query);
      expect(res.status).toBe(200);
      const json = (await res.json()) as Summary;
      return json.groups.some((group) => group.key === 'PROCESSING') ? undefined : json;
    });
    expect(Object.fromEntries(body.groups.map((group) => [group.key, group.uploads]))).toEqual(expected);
    expect(body.totals.uploads).toBe(4);
    expect(body.totals.ready).toBe(2);
    expect(body.totals.bytes).toBe(uploads.reduce((sum, upload) => sum + upload.body.length, 0));
    expect(body.totals.timeToReadyP50Ms).toBeGreaterThan(0);
    expect(body.totals.timeToReadyP95Ms).toBeGreaterThanOrEqual(body.totals.timeToReadyP50Ms!);

    const rows = await intake.db.$queryRawUnsafe<{ status: string; n: bigint }[]>(
      `SELECT status, count(*) AS n FROM "File" WHERE "tenantId" = 'analytics-e2e' GROUP BY status`,
    );
    expect(Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]))).toEqual(expected);

    // Per content type, the endpoint and the analysts' view agree.
    const byType = (await (
      await summary('analytics-e2e', `from=${encodeURIComponent(since)}&groupBy=contentType`)
    ).json()) as Summary;
    const viewRows = await intake.db.$queryRawUnsafe<{ content_type: string; uploads: bigint }[]>(
      `SELECT content_type, sum(uploads)::bigint AS uploads FROM analytics.uploads_daily
       WHERE tenant_id = 'analytics-e2e' GROUP BY content_type`,
    );
    expect(Object.fromEntries(byType.groups.map((group) => [group.key, group.uploads]))).toEqual(
      Object.fromEntries(viewRows.map((row) => [row.content_type, Number(row.uploads)])),
    );
    expect(byType.groups.reduce((sum, group) => sum + group.uploads, 0)).toBe(4);
  });

  it('answers bad parameters with 400 and a JSON body saying why', async () => {
    for (const [query, message] of [
      ['from=2026-12-10&to=2026-12-01', /from must not be after to/],
      ['from=yesterday', /ISO 8601/],
      ['groupBy=tenant', /groupBy/],
      ['from=2020-01-01&to=2026-01-01', /more than 366 days/],
    ] as const) {
      const res = await summary('analytics-e2e', query);
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(JSON.stringify(body), query).toMatch(message);
    }
  });
});
