/*
 * Runs inside a worker thread started by pdf-inspection.ts, so a hostile PDF can exhaust only this
 * thread's heap (resourceLimits) and time (the host terminates it). Node runs this file by stripping its
 * types, so it imports only packages and Node built-ins, and uses erasable TypeScript only.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

interface InspectRequest {
  bytes: Uint8Array;
  maxPages: number;
  textPages: number;
}

const request = workerData as InspectRequest;
// Text extraction of the 14 standard fonts (Helvetica, Times…) needs their metrics, shipped with pdfjs.
const standardFontDataUrl = `${join(dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json')), 'standard_fonts')}/`;

async function inspect() {
  const task = getDocument({
    data: request.bytes,
    standardFontDataUrl,
    disableFontFace: true,
    useSystemFonts: false,
    // Refuse what does not parse rather than recover a best guess.
    stopAtErrors: true,
    verbosity: 0,
  });
  let document;
  try {
    document = await task.promise;
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'PasswordException') return { kind: 'password' as const };
    return { kind: 'invalid' as const, detail: (error as Error).message };
  }
  const pages = document.numPages;
  const encrypted = (await document.getPermissions()) !== null;
  if (pages > request.maxPages) return { kind: 'too-many-pages' as const, pages };
  const texts: string[] = [];
  for (let number = 1; number <= Math.min(pages, request.textPages); number++) {
    try {
      const page = await document.getPage(number);
      const content = await page.getTextContent();
      texts.push(content.items.map((item) => ('str' in item ? item.str : '')).join(' '));
      page.cleanup();
    } catch (error) {
      return { kind: 'invalid' as const, detail: `page ${number}: ${(error as Error).message}` };
    }
  }
  await task.destroy();
  return { kind: 'parsed' as const, pages, encrypted, text: texts.join('\n') };
}

parentPort!.postMessage(await inspect());
