import { beforeAll, describe, expect, it, vi } from 'vitest';
import { buildConsole } from '../../console/build';
import { expectError, setupApi } from '../support/fake-api-services';

/* The web console's static assets at /: built from console/, served with a strict CSP, nothing else. */

vi.mock('../../prisma/tenants', () => import('../support/fake-tenants'));

describe('the web console assets', () => {
  beforeAll(async () => {
    await buildConsole();
  }, 120_000);

  it('serves the page at / and its bundle, with a CSP that allows only its own origin', async () => {
    const t = setupApi();
    const page = await t.app.request('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('/console/app.js');
    const script = await t.app.request('/console/app.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    // Bundled: no import reaches another origin (no CDN at run time).
    expect(await script.text()).not.toMatch(/import\s*["']https?:/);
  });

  it('reaches nothing else under dist/', async () => {
    const t = setupApi();
    await expectError(await t.app.request('/console/.source-hash'), 404);
    await expectError(await t.app.request('/console/../package.json'), 404);
  });

  it('skips the build when the sources have not changed', async () => {
    expect((await buildConsole()).built).toBe(false);
  });
});
