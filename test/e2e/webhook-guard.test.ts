import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IntakeApiError } from '../../api/client';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { waitUntil } from '../support/wait-until';

/*
 * The SSRF guard on, as in production, with INTAKE_WEBHOOK_ALLOW_TARGETS naming only the test receiver
 * (test/support/running-intake.ts): the receiver gets its deliveries, and another service on the same
 * loopback address, or a private address, gets nothing.
 */

const TENANT = 'guard-e2e';
const API_KEY = 'guard-e2e-key-0001';

let intake: RunningIntake<typeof TENANT>;
/** Stands in for an internal service on another port of the same host: it must never be called. */
let internal: Server;
let internalPort: number;
let internalRequests = 0;

beforeAll(async () => {
  internal = createServer((_req, res) => {
    internalRequests++;
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
  internalPort = (internal.address() as AddressInfo).port;
  intake = await startIntake({ tenants: { [TENANT]: API_KEY } });
}, 180_000);

afterAll(async () => {
  await intake?.stop();
  await new Promise((resolve) => internal?.close(resolve));
});

describe('webhooks with the SSRF guard on and only the test receiver allowed', () => {
  it('runs with private targets refused and the receiver as the one exception', () => {
    expect(intake.config.webhooks.allowPrivate).toBe(false);
    expect(intake.config.webhooks.allowTargets.map((t) => t.entry)).toEqual([new URL(intake.receiver.url('/')).host]);
  });

  it('refuses to register another loopback port or a private address', async () => {
    const client = intake.clients[TENANT];
    for (const url of [
      `http://127.0.0.1:${internalPort}/hook`,
      `http://localhost:${new URL(intake.receiver.url('/')).port}/hook`,
      'http://10.0.0.5/hook',
      'http://169.254.169.254/latest/meta-data',
    ]) {
      const refused = (await client.createWebhook({ url }).catch((e: unknown) => e)) as IntakeApiError;
      expect(refused, url).toMatchObject({ status: 400, code: 'invalid_request' });
    }
  });

  it('delivers to the receiver, and refuses with nothing sent an endpoint that points elsewhere', async () => {
    const client = intake.clients[TENANT];
    const allowed = await client.createWebhook({ url: intake.receiver.url('/guarded'), events: ['file.ready'] });
    // Endpoints the API would refuse today, as if stored before the guard (or re-pointed by DNS since):
    // every delivery checks the target again (and its connection checks what a name resolves to).
    const elsewhere = [`http://127.0.0.1:${internalPort}/literal`, `http://localhost:${internalPort}/by-name`];
    for (const url of elsewhere) {
      await intake.db.webhookEndpoint.create({
        data: { id: `wh_${randomUUID().replaceAll('-', '')}`, tenantId: TENANT, url, events: ['file.ready'] },
      });
    }

    const accepted = await client.uploadFile(Buffer.from('guarded webhook test\n'), {
      filename: 'guard.txt',
      contentType: 'text/plain',
    });
    expect((await client.waitForFile(accepted.id, 90_000)).status).toBe('READY');
    await intake.receiver.waitFor(
      'file.ready at the receiver',
      (r) => r.path === '/guarded' && r.body.includes(accepted.id),
    );

    const refused = await waitUntil('both other deliveries to be refused', async () => {
      const rows = await intake.db.webhookDelivery.findMany({ where: { fileId: accepted.id, url: { in: elsewhere } } });
      return rows.length === 2 && rows.every((r) => r.status === 'refused') ? rows : undefined;
    });
    expect(refused.map((r) => r.lastError).sort()).toEqual([
      expect.stringMatching(/resolves to 127\.0\.0\.1, a loopback address; private targets are refused/),
      expect.stringMatching(/localhost resolves to (127\.0\.0\.1|::1), a loopback address/),
    ]);
    expect(internalRequests).toBe(0);
    const delivered = await client.listDeliveries(allowed.id);
    expect(delivered.items.find((d) => d.fileId === accepted.id)?.status).toBe('delivered');
  });
});
