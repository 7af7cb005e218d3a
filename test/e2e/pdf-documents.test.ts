import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileView, UploadOptions } from '../../api/client';
import { storageKeys } from '../../lib/storage-keys';
import { startIntake, type RunningIntake } from '../support/running-intake';
import { pdfWithPages } from '../support/pdf-samples';

/*
 * PDFs end to end on the real stack: parsed in the validate step (pages, encryption, limits), their
 * text indexed so `q` finds a word of the body, page 1 drawn to the `thumb` rendition in the resize step.
 * Two Intakes: one with the defaults (encrypted PDFs rejected, thumbnails on), one accepting encrypted
 * PDFs, allowing 2 pages and making no thumbnails.
 */

const TENANT = 'pdf-e2e';
const API_KEY = 'pdf-e2e-key-0001';
const PDF = 'application/pdf';

// Words of this run only, so a search cannot find a file an earlier run left on the same stack.
const nonce = Array.from({ length: 8 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
const word = (name: string) => `${name}${nonce}`;

async function uploadAndSettle(intake: RunningIntake<typeof TENANT>, body: Buffer, upload: UploadOptions) {
  const client = intake.clients[TENANT];
  const accepted = await client.uploadFile(body, upload);
  const file: FileView = await client.waitForFile(accepted.id, 90_000);
  expect(file.status, `still processing: ${JSON.stringify(file.steps)}`).not.toBe('PROCESSING');
  // A long-poll's answer joins the outcome to the row read when the wait began, before the store step
  // wrote pages/encrypted; a fresh read has them.
  return client.getFile(accepted.id);
}

/** Pixels darker than mid-grey: ink on the white page. */
async function darkPixels(image: Buffer): Promise<number> {
  const grey = await sharp(image).greyscale().raw().toBuffer();
  return grey.filter((value) => value < 128).length;
}

describe('PDF documents with the default settings', () => {
  let strict: RunningIntake<typeof TENANT>;
  beforeAll(async () => {
    strict = await startIntake({ tenants: { [TENANT]: API_KEY } });
  });
  afterAll(async () => {
    await strict?.stop();
  });

  it('records a text PDF’s pages and finds it by a word of its body, not the other PDFs', async () => {
    const text = await uploadAndSettle(
      strict,
      await pdfWithPages([`the ${word('quokka')} smiles`, `a ${word('wombat')} digs`]),
      {
        filename: 'report.pdf',
        contentType: PDF,
      },
    );
    expect(text).toMatchObject({ status: 'READY', reason: null, contentType: PDF, pages: 2, encrypted: false });

    const whole = await pdfWithPages(['one', 'two', 'three']);
    const broken = await uploadAndSettle(strict, whole.subarray(0, Math.floor(whole.length / 2)), {
      filename: 'broken.pdf',
      contentType: PDF,
    });
    expect(broken.status).toBe('REJECTED');
    expect(broken.reason).toMatch(/^The PDF cannot be parsed: /);
    expect(broken).toMatchObject({ pages: null, encrypted: null });

    const locked = await uploadAndSettle(
      strict,
      await pdfWithPages([`the ${word('quokka')} hides`], {
        userPassword: 'user',
        ownerPassword: 'owner',
        pdfVersion: '1.7',
      }),
      { filename: 'locked.pdf', contentType: PDF },
    );
    expect(locked).toMatchObject({
      status: 'REJECTED',
      reason: 'encrypted PDF: it needs a password to open, so it cannot be checked.',
      pages: null,
      encrypted: null,
    });

    const ownerOnly = await uploadAndSettle(
      strict,
      await pdfWithPages([`the ${word('quokka')} waits`], { ownerPassword: 'owner', pdfVersion: '1.7' }),
      { filename: 'owner-only.pdf', contentType: PDF },
    );
    expect(ownerOnly).toMatchObject({
      status: 'REJECTED',
      reason: 'encrypted PDF: encrypted PDFs are not accepted (INTAKE_PDF_ENCRYPTED=reject).',
    });

    const client = strict.clients[TENANT];
    expect((await client.listFiles({ q: word('wombat') })).items.map((f) => f.id)).toEqual([text.id]);
    // "quokka" is in every PDF's body, but only the READY one was indexed.
    expect((await client.listFiles({ q: word('quokka') })).items.map((f) => f.id)).toEqual([text.id]);
    expect((await client.getFile(text.id)).pages).toBe(2);
    // Only a READY-bound PDF is drawn: the rejected ones never reached the resize step.
    for (const file of [broken, locked, ownerOnly]) {
      expect(file.renditions).toEqual([]);
      expect(file.steps?.resize?.state).toBe('skipped');
    }
  });

  it('a READY text PDF gets the thumb of its first page (WebP, longest edge 256, dark text on white), removed with the file', async () => {
    const client = strict.clients[TENANT];
    const pdf = await uploadAndSettle(strict, await pdfWithPages(['QUOKKA', 'page two'], {}, { fontSize: 72 }), {
      filename: 'poster.pdf',
      contentType: PDF,
    });
    expect(pdf).toMatchObject({ status: 'READY', pages: 2 });
    expect(pdf.steps?.resize).toMatchObject({ state: 'done', error: null });
    // pdfkit's default page is US Letter (612 × 792 points): portrait, so the height is the long edge.
    expect(pdf.renditions).toEqual([
      expect.objectContaining({ name: 'thumb', format: 'webp', width: 198, height: 256, frames: 1 }),
    ]);
    const thumbKey = storageKeys.rendition(TENANT, pdf.id, 'thumb', 'webp');
    expect((await strict.objectsUnder(storageKeys.filePrefix(TENANT, pdf.id))).sort()).toEqual(
      [storageKeys.original(TENANT, pdf.id), thumbKey].sort(),
    );

    const response = await client.download(pdf.id, { rendition: 'thumb' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/webp');
    const thumb = Buffer.from(await response.arrayBuffer());
    expect(thumb.length).toBe(pdf.renditions[0]!.size);
    const meta = await sharp(thumb).metadata();
    expect({ format: meta.format, longest: Math.max(meta.width, meta.height) }).toEqual({
      format: 'webp',
      longest: 256,
    });
    const dark = await darkPixels(thumb);
    // "QUOKKA" at 72 points is ink on about 2 % of the page; the rest is paper, not transparency.
    expect(dark).toBeGreaterThan(200);
    expect(dark).toBeLessThan(0.2 * meta.width * meta.height);
    expect((await sharp(thumb).stats()).channels[0]!.mean).toBeGreaterThan(200);
    const { startedAt, finishedAt } = pdf.steps!.resize!;
    console.log(
      `resize step of a 1-page-drawn PDF (read, page-1 render, WebP, S3 write): ${Date.parse(finishedAt!) - Date.parse(startedAt!)} ms`,
    );

    await client.deleteFile(pdf.id);
    const deadline = Date.now() + 60_000;
    while ((await client.getFile(pdf.id)).status !== 'DELETED' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect((await client.getFile(pdf.id)).renditions).toEqual([]);
    expect(await strict.objectsUnder(storageKeys.filePrefix(TENANT, pdf.id))).toEqual([]);
  });
});

// Its own Intake after the first one stopped: both would otherwise poll the same task queue.
describe('PDF documents with INTAKE_PDF_ENCRYPTED=accept, INTAKE_PDF_MAX_PAGES=2, INTAKE_PDF_TEXT_PAGES=1, INTAKE_PDF_THUMBNAIL=false', () => {
  let lenient: RunningIntake<typeof TENANT>;
  beforeAll(async () => {
    lenient = await startIntake({
      tenants: { [TENANT]: API_KEY },
      env: {
        INTAKE_PDF_ENCRYPTED: 'accept',
        INTAKE_PDF_MAX_PAGES: '2',
        INTAKE_PDF_TEXT_PAGES: '1',
        INTAKE_PDF_THUMBNAIL: 'false',
      },
    });
  });
  afterAll(async () => {
    await lenient?.stop();
  });

  it('accepts an encrypted PDF with `encrypted: true` and rejects one past the page limit, when so configured', async () => {
    const ownerOnly = await uploadAndSettle(
      lenient,
      await pdfWithPages([`the ${word('echidna')} waits`, `the ${word('numbat')} naps`], {
        ownerPassword: 'owner',
        pdfVersion: '1.7',
      }),
      { filename: 'owner-only.pdf', contentType: PDF },
    );
    expect(ownerOnly).toMatchObject({ status: 'READY', reason: null, pages: 2, encrypted: true });
    // INTAKE_PDF_THUMBNAIL=false: the resize step runs and makes nothing.
    expect(ownerOnly.renditions).toEqual([]);
    expect(ownerOnly.steps?.resize?.state).toBe('done');
    expect(await lenient.objectsUnder(storageKeys.filePrefix(TENANT, ownerOnly.id))).toEqual([
      storageKeys.original(TENANT, ownerOnly.id),
    ]);

    const long = await uploadAndSettle(lenient, await pdfWithPages(['one', 'two', 'three']), {
      filename: 'long.pdf',
      contentType: PDF,
    });
    expect(long).toMatchObject({
      status: 'REJECTED',
      reason: 'The PDF has 3 pages, more than the 2 allowed (INTAKE_PDF_MAX_PAGES).',
    });

    const client = lenient.clients[TENANT];
    expect((await client.listFiles({ q: word('echidna') })).items.map((f) => f.id)).toEqual([ownerOnly.id]);
    // Only the first page's text is indexed (INTAKE_PDF_TEXT_PAGES=1).
    expect((await client.listFiles({ q: word('numbat') })).items).toEqual([]);
  });
});
