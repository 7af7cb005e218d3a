import { indexedNames } from '../activities/index-file';
import { workflowIdFor } from '../common/task-queues';
import type { FileStatus } from '../common/domain';
import { seededRandom } from './images';

/*
 * File rows as a real deployment accumulates them, drawn from a seeded PRNG so every run seeds the same
 * table: phone-camera and screenshot names, named holiday photos, invoices and reports, notes, JSON
 * exports; a few tags each; text for text, JSON and PDF files; the status mix of two years of uploads
 * (mostly READY, some tombstones). bench/seed-files.ts COPYs them in.
 */

const PLACES = [
  'lisbon',
  'porto',
  'paris',
  'berlin',
  'tokyo',
  'kyoto',
  'rome',
  'barcelona',
  'london',
  'iceland',
  'bali',
  'sydney',
  'vienna',
  'prague',
  'oslo',
  'madeira',
  'santorini',
  'alps',
  'seville',
  'dublin',
];
const EVENTS = [
  'holiday',
  'wedding',
  'birthday',
  'christmas',
  'graduation',
  'vacation',
  'trip',
  'party',
  'conference',
  'hike',
  'beach',
  'sunset',
  'concert',
  'picnic',
  'ski',
  'roadtrip',
];
const PEOPLE = [
  'ana',
  'marco',
  'maria',
  'john',
  'li',
  'sofia',
  'lucas',
  'emma',
  'noah',
  'yuki',
  'omar',
  'zoe',
  'pedro',
  'ines',
  'tom',
  'hana',
];
const COMPANIES = [
  'acme',
  'globex',
  'initech',
  'umbrella',
  'hooli',
  'stark',
  'wayne',
  'wonka',
  'cyberdyne',
  'soylent',
  'tyrell',
  'vandelay',
];
const DOC_KINDS = [
  'invoice',
  'receipt',
  'contract',
  'report',
  'statement',
  'payslip',
  'proposal',
  'minutes',
  'budget',
  'timesheet',
  'itinerary',
  'warranty',
  'manual',
  'nda',
  'quote',
  'brochure',
];
const WORDS = (
  'the of and to in a is that for it as was with be by on not he this are or his from at which ' +
  'but have an they you were her she there been one all we their has would when if so no will more can out ' +
  'about up what time year people some only new also two first may into could over other than its then ' +
  'customer order payment total amount due date account balance shipping delivery project team meeting ' +
  'agenda action review budget quarter revenue growth cost plan schedule deadline client contract terms ' +
  'signed approved pending draft final version summary notes item price tax discount service support ' +
  'product release feature issue update status report analysis data results sales market region office ' +
  'travel hotel flight booking reservation ticket itinerary confirmation reference number invoice receipt'
).split(' ');
const TAGS_PHOTO = ['photos', 'family', 'travel', 'friends', 'camera', 'phone', 'favourites', 'print'];
const TAGS_DOC = ['invoices', 'receipts', 'finance', 'legal', 'hr', 'tax', 'work', 'archive', 'signed', 'scans'];
const TAGS_DATA = ['exports', 'logs', 'config', 'integration', 'notes', 'work'];

export const SEED_STATUSES: readonly [FileStatus, number][] = [
  ['READY', 0.925],
  ['DELETED', 0.04],
  ['REJECTED', 0.015],
  ['FAILED', 0.01],
  ['INFECTED', 0.002],
  ['PROCESSING', 0.008],
];

const STEPS = ['scan', 'validate', 'resize', 'store', 'index', 'notify'] as const;

export interface SeedRow {
  id: string;
  tenantId: string;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  status: FileStatus;
  tags: string[];
  content: string;
  createdAt: Date;
}

/** The COPY columns of the seed table, in order; `names`, `tagsText` and `content` feed the search vector. */
export const SEED_COLUMNS = [
  'id',
  'tenantId',
  'workflowId',
  'filename',
  'declaredContentType',
  'contentType',
  'size',
  'sha256',
  'status',
  'chargedBytes',
  'reason',
  'width',
  'height',
  'tags',
  'renditions',
  'steps',
  'storageKey',
  'quarantineKey',
  'retentionMs',
  'createdAt',
  'updatedAt',
  'completedAt',
  'deletedAt',
  'deletionReason',
  'pages',
  'bodyText',
  'names',
  'tagsText',
  'content',
] as const;

export function rowMaker(seed: number) {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  // Zipf-like: a few words and names are everywhere, most are rare, as in real text.
  const zipf = <T>(list: readonly T[]): T => list[Math.floor(list.length * random() ** 2.2)]!;
  const digits = (n: number) => String(Math.floor(random() * 10 ** n)).padStart(n, '0');
  const hex = (n: number) => {
    let out = '';
    while (out.length < n)
      out += Math.floor(random() * 2 ** 32)
        .toString(16)
        .padStart(8, '0');
    return out.slice(0, n);
  };
  const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
  const fileId = () => {
    let out = 'f_';
    for (let i = 0; i < 24; i++) out += ID_ALPHABET[Math.floor(random() * 32)];
    return out;
  };
  const stamp = (d: Date) => d.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '_');
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const sentence = (extra: readonly string[], words: number) =>
    Array.from({ length: words }, () => (random() < 0.15 ? pick(extra) : zipf(WORDS))).join(' ');
  const tagsFrom = (vocabulary: readonly string[], also: readonly string[]) => {
    const tags = new Set<string>();
    const count = Math.floor(random() * 4);
    for (let i = 0; i < count; i++) tags.add(random() < 0.3 ? pick(also) : zipf(vocabulary));
    return [...tags];
  };

  /** One file of `tenantId` uploaded at `createdAt`. */
  return (tenantId: string, createdAt: Date): SeedRow => {
    const year = createdAt.getUTCFullYear();
    const month = String(createdAt.getUTCMonth() + 1).padStart(2, '0');
    const kind = random();
    let filename: string;
    let contentType: string;
    let tags: string[];
    let content = '';
    let size: number;
    if (kind < 0.45) {
      const style = random();
      const ext = random() < 0.12 ? 'HEIC' : 'jpg';
      filename =
        style < 0.5
          ? `IMG_${stamp(createdAt)}.${ext}`
          : style < 0.7
            ? `PXL_${stamp(createdAt)}${digits(3)}.jpg`
            : style < 0.85
              ? `DSC${digits(5)}.JPG`
              : `IMG_${digits(4)}.${ext}`;
      contentType = ext === 'HEIC' ? 'image/heic' : 'image/jpeg';
      tags = tagsFrom(TAGS_PHOTO, [...EVENTS, ...PLACES]);
      size = 1_500_000 + Math.floor(random() * 4_500_000);
    } else if (kind < 0.53) {
      filename = `Screenshot ${day(createdAt)} at ${createdAt.toISOString().slice(11, 19).replace(/:/g, '.')}.png`;
      contentType = 'image/png';
      tags = tagsFrom(['screenshots', 'work', 'bugs'], COMPANIES);
      size = 200_000 + Math.floor(random() * 1_800_000);
    } else if (kind < 0.68) {
      const event = zipf(EVENTS);
      filename =
        random() < 0.6
          ? `${event}-${zipf(PLACES)}-${year}-${digits(3)}.jpg`
          : `${zipf(PEOPLE)}_${event}_${digits(4)}.${random() < 0.85 ? 'jpg' : 'webp'}`;
      contentType = filename.endsWith('webp') ? 'image/webp' : 'image/jpeg';
      tags = tagsFrom(TAGS_PHOTO, [event, ...PLACES]);
      size = 800_000 + Math.floor(random() * 5_000_000);
    } else if (kind < 0.84) {
      const doc = zipf(DOC_KINDS);
      const company = zipf(COMPANIES);
      const style = random();
      filename =
        style < 0.5
          ? `${doc}-${year}-${month}-${company}-${digits(5)}.pdf`
          : style < 0.75
            ? `${doc[0]!.toUpperCase()}${doc.slice(1)} Q${1 + Math.floor(random() * 4)} ${year} final.pdf`
            : `${doc}_${zipf(PEOPLE)}_${year}${random() < 0.3 ? '_signed' : ''}.pdf`;
      contentType = 'application/pdf';
      tags = tagsFrom(TAGS_DOC, [doc === 'invoice' ? 'invoices' : doc, company]);
      content = sentence([doc, company, zipf(PEOPLE), String(year)], 40 + Math.floor(random() * 160));
      size = 40_000 + Math.floor(random() * 900_000);
    } else if (kind < 0.93) {
      const topic = random() < 0.5 ? `meeting-notes-${day(createdAt)}` : `${zipf(DOC_KINDS)}-notes-${zipf(PEOPLE)}`;
      filename = random() < 0.8 ? `${topic}.txt` : `log-${day(createdAt)}-${digits(2)}.txt`;
      contentType = 'text/plain';
      tags = tagsFrom(TAGS_DATA, COMPANIES);
      content = sentence([zipf(PEOPLE), zipf(COMPANIES), zipf(DOC_KINDS)], 30 + Math.floor(random() * 120));
      size = content.length + Math.floor(random() * 5_000);
    } else if (kind < 0.99) {
      const company = zipf(COMPANIES);
      filename =
        random() < 0.5
          ? `export-orders-${year}-${month}.json`
          : random() < 0.5
            ? `${company}-webhook-${digits(6)}.json`
            : `payload-${digits(6)}.json`;
      contentType = 'application/json';
      tags = tagsFrom(TAGS_DATA, [company]);
      content = sentence([company, 'order', 'customer', 'sku'], 20 + Math.floor(random() * 80));
      size = content.length * 3;
    } else {
      filename = `${zipf(EVENTS)}-${digits(2)}.gif`;
      contentType = 'image/gif';
      tags = tagsFrom(['animations', 'memes', 'fun'], EVENTS);
      size = 300_000 + Math.floor(random() * 3_000_000);
    }
    let roll = random();
    let status: FileStatus = 'READY';
    for (const [s, share] of SEED_STATUSES) {
      if (roll < share) {
        status = s;
        break;
      }
      roll -= share;
    }
    return { id: fileId(), tenantId, filename, contentType, size, sha256: hex(64), status, tags, content, createdAt };
  };
}

/** The COPY text form of a value: `\N` for null, backslash, tab and line breaks escaped. */
const copyText = (value: unknown): string =>
  value === null || value === undefined ? '\\N' : String(value).replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!);
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A Postgres text[] literal; every element quoted. */
const textArray = (items: readonly string[]) => `{${items.map((t) => `"${t.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;

/**
 * The row as the pipeline leaves it, one line of COPY text in SEED_COLUMNS order: READY images with
 * their renditions, every step's outcome, storage keys; tombstones with no content, keys or index text.
 */
export function copyLine(row: SeedRow): string {
  const { id, tenantId, status, createdAt } = row;
  const finished = new Date(createdAt.getTime() + 1_500 + (row.size % 4_000));
  const image = row.contentType.startsWith('image/');
  const width = image ? 4000 : null;
  const height = image ? 3000 : null;
  const done = (i: number) => ({
    state: 'done',
    attempts: 1,
    startedAt: new Date(createdAt.getTime() + 200 * i).toISOString(),
    finishedAt: new Date(createdAt.getTime() + 200 * i + 180).toISOString(),
    error: null,
  });
  const pending = { state: 'pending', attempts: 0, startedAt: null, finishedAt: null, error: null };
  const failedAt = status === 'INFECTED' ? 0 : status === 'REJECTED' || status === 'FAILED' ? 1 : -1;
  const steps = Object.fromEntries(
    STEPS.map((step, i) => [
      step,
      status === 'PROCESSING'
        ? i === 0
          ? { ...done(0), state: 'running', finishedAt: null }
          : pending
        : i === failedAt
          ? {
              ...done(i),
              state: 'failed',
              error: status === 'INFECTED' ? 'Eicar-Test-Signature' : 'not what it claims',
            }
          : failedAt >= 0 && i > failedAt
            ? { ...pending, state: 'skipped' }
            : step === 'resize' && !image
              ? { ...pending, state: 'skipped' }
              : done(i),
    ]),
  );
  const ready = status === 'READY';
  const renditions =
    ready && image
      ? [
          ['thumb', 256, 'webp'],
          ['medium', 1024, 'webp'],
          ['large', 2048, 'webp'],
          ['medium-avif', 1024, 'avif'],
          ['large-avif', 2048, 'avif'],
        ].map(([name, edge, format]) => ({
          name,
          key: `files/${tenantId}/${id}/renditions/${name as string}.${format as string}`,
          format,
          width: edge,
          height: Math.round((edge as number) * 0.75),
          size: Math.round((edge as number) ** 2 / 20),
        }))
      : [];
  const holdsBytes = ready || status === 'INFECTED' || status === 'PROCESSING';
  const deleted = status === 'DELETED';
  const deletedAt = deleted ? new Date(finished.getTime() + 86_400_000) : null;
  const reason =
    status === 'REJECTED'
      ? 'content does not match its declared type'
      : status === 'FAILED'
        ? 'processing failed after retries'
        : status === 'INFECTED'
          ? 'Eicar-Test-Signature'
          : null;
  const values = [
    id,
    tenantId,
    workflowIdFor(id),
    row.filename,
    row.contentType,
    status === 'PROCESSING' ? null : row.contentType,
    row.size,
    row.sha256,
    status,
    holdsBytes ? row.size : null,
    reason,
    ready ? width : null,
    ready ? height : null,
    textArray(row.tags),
    JSON.stringify(renditions),
    JSON.stringify(steps),
    ready ? `files/${tenantId}/${id}/original` : status === 'PROCESSING' ? `incoming/${tenantId}/${id}` : null,
    status === 'INFECTED' ? `quarantine/${tenantId}/${id}` : null,
    30 * 86_400_000,
    createdAt.toISOString(),
    (deletedAt ?? finished).toISOString(),
    status === 'PROCESSING' ? null : finished.toISOString(),
    deletedAt?.toISOString() ?? null,
    deleted ? 'requested' : null,
    row.contentType === 'application/pdf' && !deleted ? 1 + (row.size % 40) : null,
    row.contentType === 'application/pdf' && !deleted ? row.content : null,
    // What the index step reads (activities/index-file.ts). Only a READY file got that far: a rejected,
    // failed or infected one stopped before it, one still processing has not reached it, a tombstone lost it.
    ready ? indexedNames(row.filename) : null,
    ready ? row.tags.join(' ') : null,
    ready ? row.content : null,
  ];
  return `${values.map(copyText).join('\t')}\n`;
}
