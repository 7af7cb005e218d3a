import { describe, expect, it } from 'vitest';
import { runChaosSuite } from '../../chaos/suite';
import { chaosTable } from '../../chaos/table';

/*
 * The short version of `npm run chaos`: every fault kind once, 10 uploads each, shorter outages (the
 * webhook receiver fails for 20 s). It runs its own stack, so killing Postgres or Temporal never
 * disturbs the shared one the other files use.
 */

const UPLOADS = 10;

describe('the chaos suite, short', () => {
  it('under every fault each upload ends READY once, nothing is stuck, no 5xx but 503, every file.ready arrives', async () => {
    const { results } = await runChaosSuite({ uploads: UPLOADS, quick: true, log: () => undefined });
    console.info(`[chaos]\n${chaosTable(results)}`);
    expect(results.map((r) => r.fault)).toEqual(['worker', 'temporal', 'postgres', 'minio', 'clamd', 'api', 'webhook']);
    for (const r of results) {
      const row = {
        fault: r.fault,
        ready: r.ready,
        stuck: r.stuck,
        duplicates: r.duplicates,
        serverErrorsOther503: r.serverErrorsOther503,
        webhooksDelivered: r.webhooksDelivered,
        webhookDuplicateEvents: r.webhookDuplicateEvents,
        anomalies: r.anomalies,
      };
      expect(row).toEqual({
        fault: r.fault,
        ready: UPLOADS,
        stuck: 0,
        duplicates: 0,
        serverErrorsOther503: 0,
        webhooksDelivered: UPLOADS,
        webhookDuplicateEvents: 0,
        anomalies: [],
      });
    }
  }, 300_000);
});
