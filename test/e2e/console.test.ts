import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../infra/free-port';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { eicarTestFile } from '../support/sample-files';
import { waitUntil } from '../support/wait-until';

/*
 * The web console in real Chromium (Debian's, driven by playwright-core) against the real stack: the
 * API serves the console at /, the browser signs in, uploads, watches the event stream, manages
 * retention and webhooks. Every wait is for a condition on the page, with a generous deadline.
 */

const TENANT = 'console-e2e';
const KEY = 'console-e2e-key-0001';
/** Processing on a busy 2-core machine (clamd, sharp, Temporal) can take a while; nothing here sleeps. */
const OUTCOME_MS = 180_000;
const UI_MS = 30_000;
const DOCS = join(process.cwd(), 'docs');

let intake: RunningIntake<typeof TENANT>;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every URL the browser asked for: none may carry the API key. */
const requested: string[] = [];

const jpeg = (r: number, g: number, b: number) =>
  sharp({ create: { width: 320, height: 200, channels: 3, background: { r, g, b } } })
    .jpeg()
    .toBuffer();

const row = (filename: string): Locator => page.locator('li.file-row', { hasText: filename });
const statusOf = (filename: string, status: string): Locator =>
  row(filename).locator('.status', { hasText: new RegExp(`^${status}$`) });

async function screenshot(name: string): Promise<void> {
  mkdirSync(DOCS, { recursive: true });
  await page.screenshot({ path: join(DOCS, `console-${name}.png`), fullPage: true });
}

beforeAll(async () => {
  // A known port, so the public URL (which tus' Location headers use) is the page's own origin.
  const port = await freePort();
  intake = await startIntake({
    tenants: { [TENANT]: KEY },
    env: { INTAKE_PORT: String(port), INTAKE_PUBLIC_URL: `http://127.0.0.1:${port}` },
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: intake.api.url });
  page = await context.newPage();
  page.on('request', (request) => requested.push(request.url()));
  // What went wrong in the page shows in the test's output, next to the failed wait.
  page.on('pageerror', (error) => console.error(`console page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') console.error(`console page: ${message.text()}`);
  });
  // Destructive actions ask with the browser's own confirm(); the test says yes.
  page.on('dialog', (dialog) => void dialog.accept());
  page.setDefaultTimeout(UI_MS);
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await intake?.stop();
});

describe('the web console', () => {
  it('refuses a wrong key and signs in with a right one, keeping it out of URLs and cookies', async () => {
    await page.goto(intake.api.url);
    await screenshot('sign-in');
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();

    await page.getByLabel('API key').fill(KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Upload files').waitFor({ state: 'attached' });
    await page.getByText('No files yet').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('intake.apiKey'))).toBe(KEY);
    expect(await context.cookies()).toEqual([]);
  });

  it('adds a webhook', async () => {
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByLabel('Webhook URL').fill(intake.receiver.url('/console'));
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await page
      .getByRole('list', { name: 'Webhooks' })
      .locator('strong', { hasText: intake.receiver.url('/console') })
      .waitFor();
    await page.getByRole('button', { name: `Send test event to ${intake.receiver.url('/console')}` }).click();
    await page.getByRole('status').filter({ hasText: 'Test event delivered' }).waitFor();
    await intake.receiver.waitFor('the test event', (w) => w.path === '/console' && w.body.includes('webhook.test'));
  });

  it(
    'uploads three images and a text file as a batch and shows each reach READY live',
    { timeout: 400_000 },
    async () => {
      const files = [
        { name: 'sunset-alpha.jpg', mimeType: 'image/jpeg', buffer: await jpeg(230, 120, 40) },
        { name: 'harbour-bravo.jpg', mimeType: 'image/jpeg', buffer: await jpeg(30, 90, 200) },
        { name: 'meadow-charlie.jpg', mimeType: 'image/jpeg', buffer: await jpeg(60, 170, 70) },
        { name: 'notes-delta.txt', mimeType: 'text/plain', buffer: Buffer.from('minutes of the harbour meeting\n') },
      ];
      await page.getByRole('link', { name: 'Files', exact: true }).click();
      await page.getByText('Options for the next upload').click();
      await page.getByLabel('Tags').fill('trip');
      await page.getByLabel('Upload files').setInputFiles(files);
      for (const file of files) await row(file.name).waitFor({ timeout: OUTCOME_MS });
      await screenshot('uploading');
      // No reload from here on: the rows move by the event stream alone.
      for (const file of files) await statusOf(file.name, 'READY').waitFor({ timeout: OUTCOME_MS });
      await row('sunset-alpha.jpg').locator('.step-done', { hasText: 'notify' }).waitFor();
      await screenshot('files');
    },
  );

  it('shows an EICAR upload INFECTED, with no download or preview offered', { timeout: 300_000 }, async () => {
    await page.getByLabel('Tags').fill('');
    await page
      .getByLabel('Upload files')
      .setInputFiles([{ name: 'eicar-echo.txt', mimeType: 'text/plain', buffer: eicarTestFile() }]);
    await statusOf('eicar-echo.txt', 'INFECTED').waitFor({ timeout: OUTCOME_MS });
    await row('eicar-echo.txt').getByRole('link', { name: 'eicar-echo.txt' }).click();
    await page.getByText('The virus scanner found malware').waitFor();
    expect(await page.getByRole('button', { name: /Download/ }).count()).toBe(0);
    expect(await page.locator('img').count()).toBe(0);
    await screenshot('infected');
    await page.getByRole('link', { name: '← All files' }).click();
  });

  it('sends a large file by tus, resumable, and shows it READY', { timeout: 300_000 }, async () => {
    // Over the console's 16 MiB threshold: Uppy's tus uploader, in 8 MiB chunks, to /v1/tus/.
    const line = 'the quick brown fox jumps over the lazy dog, foxtrot\n';
    const big = Buffer.from(line.repeat(Math.ceil((17 * 1024 * 1024) / line.length)));
    const tusRequests: string[] = [];
    const onRequest = (request: { url(): string; method(): string }) => {
      if (request.url().includes('/v1/tus/')) tusRequests.push(request.method());
    };
    page.on('request', onRequest);
    await page
      .getByLabel('Upload files')
      .setInputFiles([{ name: 'big-foxtrot.txt', mimeType: 'text/plain', buffer: big }]);
    await statusOf('big-foxtrot.txt', 'READY').waitFor({ timeout: OUTCOME_MS });
    page.off('request', onRequest);
    expect(tusRequests[0]).toBe('POST');
    expect(tusRequests.filter((method) => method === 'PATCH').length).toBeGreaterThanOrEqual(3);
  });

  it('finds a file by a word in its name', async () => {
    await page.getByLabel('Search').fill('harbour');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await row('sunset-alpha.jpg').waitFor({ state: 'detached' });
    await row('harbour-bravo.jpg').waitFor();
    expect(await page.locator('li.file-row').count()).toBeLessThanOrEqual(2); // the name, and the text's content

    await page.getByLabel('Search').fill('');
    await page.getByLabel('Tag', { exact: true }).fill('trip');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await row('eicar-echo.txt').waitFor({ state: 'detached' });
    for (const name of ['sunset-alpha.jpg', 'harbour-bravo.jpg', 'meadow-charlie.jpg', 'notes-delta.txt']) {
      await row(name).waitFor();
    }
    await page.getByLabel('Tag', { exact: true }).fill('');
  });

  it(
    'extends, holds (a delete is then refused, readably), releases and deletes a file',
    { timeout: 300_000 },
    async () => {
      await row('harbour-bravo.jpg').getByRole('link', { name: 'harbour-bravo.jpg' }).click();
      await page.getByRole('img', { name: 'Preview of harbour-bravo.jpg' }).waitFor();
      await page.getByRole('button', { name: 'Download original' }).waitFor();
      await screenshot('file');

      await page.getByLabel('Extend by').fill('30d');
      await page.getByRole('button', { name: 'Extend' }).click();
      await page.getByText('Extend: done.').waitFor();

      const inSixtyDays = new Date(Date.now() + 60 * 86_400_000).toISOString().slice(0, 16);
      await page.getByLabel('New expiry').fill(inSixtyDays);
      await page.getByRole('button', { name: 'Set expiry' }).click();
      await page.getByText('Set expiry: done.').waitFor();

      await page.getByRole('button', { name: 'Copy sha256' }).click();
      await page.getByText('sha256 copied.').waitFor();
      const sha256 = await page.locator('.sha code').textContent();
      expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(sha256);

      await page.getByRole('button', { name: 'Place on hold' }).click();
      await page.getByText('Hold: done.').waitFor();
      await page.getByRole('button', { name: 'Release hold' }).waitFor();

      await page.getByRole('button', { name: 'Delete file' }).click();
      await page.getByRole('alert').filter({ hasText: 'Delete refused' }).filter({ hasText: /hold/i }).waitFor();

      await page.getByRole('button', { name: 'Release hold' }).click();
      await page.getByText('Release: done.').waitFor();
      await page.getByRole('button', { name: 'Delete file' }).click();
      await page.getByText('Delete: done.').waitFor();
      await page.locator('h2 .status', { hasText: /^DELETED$/ }).waitFor({ timeout: OUTCOME_MS });
      expect(await page.getByRole('button', { name: /Download/ }).count()).toBe(0);
      expect(await page.locator('img').count()).toBe(0);
    },
  );

  it('lists the deliveries the uploads caused', { timeout: 300_000 }, async () => {
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('button', { name: `Deliveries of ${intake.receiver.url('/console')}` }).click();
    const table = page.getByRole('table', { name: `Deliveries to ${intake.receiver.url('/console')}` });
    // Deliveries are sent by the workflows' notify step; the list is read again until one shows.
    await waitUntil(
      'a delivered webhook delivery in the console',
      async () => {
        if (await table.getByRole('cell', { name: 'delivered', exact: true }).first().isVisible()) return true;
        await page.getByRole('button', { name: 'Refresh deliveries' }).click();
        return undefined;
      },
      { timeoutMs: OUTCOME_MS, intervalMs: 1_000 },
    );
    await table.getByRole('cell', { name: 'file.ready' }).first().waitFor();
    // Before the secret is revealed: a screenshot in the repository must not hold one, even a test's.
    await screenshot('webhooks');
    await page.getByRole('button', { name: 'Reveal signing secret' }).click();
    await page
      .locator('code.secret')
      .filter({ hasText: /^whsec_/ })
      .waitFor();
  });

  it('fits a 375 px phone screen', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await page.getByRole('link', { name: 'Files', exact: true }).click();
    await page.getByLabel('Search').fill('');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await row('sunset-alpha.jpg').waitFor();
    // A string, evaluated in the page: this file is typed for Node, which has no DOM.
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot('phone');
  });

  it('names every control and reaches the upload control from the keyboard', async () => {
    await page.setViewportSize({ width: 1440, height: 900 });
    for (const screen of ['#/', '#/webhooks']) {
      await page.goto(`${intake.api.url}/${screen}`);
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      // The accessibility tree as Chromium computes it: a control without a name shows as a bare role.
      const tree = await page.locator('body').ariaSnapshot();
      const unnamed = tree
        .split('\n')
        .filter((line) =>
          /^\s*- (button|textbox|searchbox|combobox|checkbox|link|spinbutton)\s*(\[[^\]]*\])?:?\s*$/.test(line),
        );
      expect(unnamed, `unnamed controls on ${screen}`).toEqual([]);
    }
    await page.goto(`${intake.api.url}/#/`);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    let reached = false;
    for (let presses = 0; presses < 20 && !reached; presses++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate<boolean>("document.activeElement?.id === 'upload-files'");
    }
    expect(reached).toBe(true);
  });

  it('signs out, and never put the API key in a request URL', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('intake.apiKey'))).toBeNull();
    expect(requested.length).toBeGreaterThan(10);
    expect(requested.filter((url) => url.includes(KEY))).toEqual([]);
  });
});
