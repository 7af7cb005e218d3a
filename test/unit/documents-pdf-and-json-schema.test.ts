import PDFDocument from 'pdfkit';
import { describe, expect, it } from 'vitest';
import { checkAgainstSchema } from '../../activities/json-schema-check';
import { inspectPdf } from '../../activities/pdf-inspection';
import { schemaProblem } from '../../lib/json-schema';

/*
 * The bounded parsers behind the validate step, on real files: PDFs written by pdfkit (plain, encrypted
 * with and without a user password, broken) and JSON documents against a draft 2020-12 schema.
 */

function pdf(options: PDFKit.PDFDocumentOptions, pages: string[]): Promise<Buffer> {
  return new Promise((resolve) => {
    const doc = new PDFDocument(options);
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    pages.forEach((text, index) => {
      if (index > 0) doc.addPage();
      doc.text(text);
    });
    doc.end();
  });
}

const LIMITS = { maxPages: 100, parseTimeoutMs: 20_000, parseMemoryMb: 64 };

describe('inspectPdf', () => {
  it('counts the pages of a PDF and reads the text of its first pages only', async () => {
    const bytes = await pdf({}, ['the quokka smiles', 'a wombat digs', 'the platypus swims']);
    expect(await inspectPdf(bytes, LIMITS, 2)).toEqual({
      kind: 'parsed',
      pages: 3,
      encrypted: false,
      text: 'the quokka smiles\na wombat digs',
    });
  });

  it('tells an encrypted PDF: readable with an owner password only, unreadable with a user password', async () => {
    const ownerOnly = await pdf({ ownerPassword: 'owner', pdfVersion: '1.7' }, ['owner only']);
    expect(await inspectPdf(ownerOnly, LIMITS, 1)).toMatchObject({ kind: 'parsed', pages: 1, encrypted: true });
    const locked = await pdf({ userPassword: 'user', ownerPassword: 'owner', pdfVersion: '1.7' }, ['locked']);
    expect(await inspectPdf(locked, LIMITS, 1)).toEqual({ kind: 'password' });
  });

  it('calls a broken PDF invalid, and one with more pages than the limit too many', async () => {
    const whole = await pdf({}, ['one', 'two', 'three']);
    expect(await inspectPdf(Buffer.from('%PDF-1.7\nnot really a PDF\n%%EOF'), LIMITS, 1)).toMatchObject({
      kind: 'invalid',
    });
    expect(await inspectPdf(whole.subarray(0, whole.length / 2), LIMITS, 1)).toMatchObject({ kind: 'invalid' });
    expect(await inspectPdf(whole, { ...LIMITS, maxPages: 2 }, 1)).toEqual({ kind: 'too-many-pages', pages: 3 });
  });
});

const PRODUCTS = {
  type: 'object',
  required: ['items'],
  properties: {
    items: {
      type: 'array',
      items: { type: 'object', required: ['price'], properties: { price: { type: 'number', minimum: 0 } } },
    },
  },
};
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const THREAD = { timeoutMs: 20_000, memoryMb: 64 };

describe('JSON Schemas', () => {
  it('accepts a draft 2020-12 schema and says why another is not one', () => {
    expect(schemaProblem(PRODUCTS)).toBeNull();
    expect(schemaProblem({ type: 'nope' })).toMatch(/draft 2020-12 meta-schema: \/type/);
    expect(schemaProblem({ $ref: '#/$defs/missing' })).toMatch(/can't resolve reference #\/\$defs\/missing/);
    expect(schemaProblem({ $schema: 'http://json-schema.org/draft-07/schema#' })).toMatch(/^\$schema must be/);
    expect(schemaProblem([1, 2])).toBe('a JSON Schema is an object (or true/false)');
  });

  it('passes a valid document and lists where and why an invalid one fails, 20 errors at most', async () => {
    expect(await checkAgainstSchema(PRODUCTS, json({ items: [{ price: 1 }] }), THREAD)).toEqual({ kind: 'valid' });
    const items = Array.from({ length: 30 }, (_, i) => (i === 1 ? {} : { price: -i - 1 }));
    const result = await checkAgainstSchema(PRODUCTS, json({ items }), THREAD);
    expect(result).toMatchObject({ kind: 'invalid', count: 30 });
    if (result.kind !== 'invalid') throw new Error('expected invalid');
    expect(result.errors).toHaveLength(20);
    expect(result.errors.slice(0, 2)).toEqual([
      { path: '/items/0/price', message: 'must be >= 0' },
      { path: '/items/1', message: "must have required property 'price'" },
    ]);
  });

  it('says a body that is not JSON is not, and stops a schema whose pattern backtracks for ever', async () => {
    expect(await checkAgainstSchema(PRODUCTS, Buffer.from('{"items": [}'), THREAD)).toMatchObject({
      kind: 'not-json',
    });
    const evil = { type: 'string', pattern: '^(a+)+$' };
    expect(await checkAgainstSchema(evil, json(`${'a'.repeat(40)}!`), { timeoutMs: 1_000, memoryMb: 64 })).toEqual({
      kind: 'timed-out',
      limitMs: 1_000,
    });
  });
});
