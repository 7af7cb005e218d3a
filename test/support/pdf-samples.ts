import PDFDocument from 'pdfkit';

/**
 * A PDF written by pdfkit with one page per string (options: e.g. userPassword/ownerPassword to encrypt),
 * in pdfkit's default 12-point Helvetica unless `fontSize` says otherwise.
 */
export function pdfWithPages(
  pages: string[],
  options: PDFKit.PDFDocumentOptions = {},
  { fontSize }: { fontSize?: number } = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument(options);
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    if (fontSize !== undefined) doc.fontSize(fontSize);
    pages.forEach((text, index) => {
      if (index > 0) doc.addPage();
      doc.text(text);
    });
    doc.end();
  });
}
