import { useEffect, useState } from 'preact/hooks';
import { describeError, getJson } from './api-client';
import { FileRow } from './file-row';
import { watchFiles } from './live-files';
import { STATUSES, type FilePage, type FileView } from './types';

interface Filters {
  q: string;
  status: string;
  contentType: string;
  tag: string;
  batch: string;
  /** yyyy-mm-dd from the date inputs: whole days in the browser's time zone. */
  from: string;
  to: string;
}

const NO_FILTERS: Filters = { q: '', status: '', contentType: '', tag: '', batch: '', from: '', to: '' };

function listPath(filters: Filters, cursor: string | null): string {
  const params = new URLSearchParams({ limit: '20' });
  const { from, to, ...plain } = filters;
  for (const [name, value] of Object.entries(plain)) if (value.trim()) params.set(name, value.trim());
  if (from) params.set('createdFrom', new Date(`${from}T00:00:00`).toISOString());
  if (to) params.set('createdBefore', new Date(new Date(`${to}T00:00:00`).getTime() + 86_400_000).toISOString());
  if (cursor) params.set('cursor', cursor);
  return `/v1/files?${params}`;
}

/**
 * The tenant's files: full-text search, filters and pages from GET /v1/files; the rows change live as
 * the event stream reports (a new file shows on the first page when no filter would hide it).
 */
export function FileList({ uploaded }: { uploaded: string[] }) {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [applied, setApplied] = useState<Filters>(NO_FILTERS);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<FilePage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const cursor = cursors.at(-1) ?? null;
  const unfiltered = Object.values(applied).every((value) => !value.trim()) && cursor === null;

  useEffect(() => {
    let current = true;
    getJson<FilePage>(listPath(applied, cursor)).then(
      (result) => current && (setPage(result), setError(null)),
      (failure: unknown) => current && setError(describeError(failure)),
    );
    return () => {
      current = false;
    };
  }, [applied, cursor, uploaded.length]);

  useEffect(
    () =>
      watchFiles((file: FileView) =>
        setPage((old) => {
          if (!old) return old;
          const index = old.items.findIndex((item) => item.id === file.id);
          if (index >= 0) return { ...old, items: old.items.map((item, i) => (i === index ? file : item)) };
          return unfiltered ? { ...old, items: [file, ...old.items] } : old;
        }),
      ),
    [unfiltered],
  );

  const search = (event: Event) => {
    event.preventDefault();
    setCursors([null]);
    setApplied(filters);
  };
  const set = (name: keyof Filters) => (e: { currentTarget: HTMLInputElement | HTMLSelectElement }) =>
    setFilters({ ...filters, [name]: e.currentTarget.value });

  return (
    <section class="files" aria-labelledby="files-heading">
      <h2 id="files-heading">Files</h2>
      <form class="filters" role="search" onSubmit={search}>
        <label>
          Search
          <input type="search" value={filters.q} onInput={set('q')} placeholder="words in the name, tags or text" />
        </label>
        <label>
          Status
          <select value={filters.status} onChange={set('status')}>
            <option value="">Any</option>
            {STATUSES.map((status) => (
              <option key={status} value={status}>
                {status}
              </option>
            ))}
          </select>
        </label>
        <label>
          Type
          <select value={filters.contentType} onChange={set('contentType')}>
            <option value="">Any</option>
            <option value="image/*">Images</option>
            <option value="text/*">Text</option>
            <option value="application/pdf">PDF</option>
          </select>
        </label>
        <label>
          Tag
          <input value={filters.tag} onInput={set('tag')} placeholder="invoices" />
        </label>
        <label>
          Batch
          <input value={filters.batch} onInput={set('batch')} placeholder="b_…" />
        </label>
        <label>
          Uploaded from
          <input type="date" value={filters.from} onInput={set('from')} />
        </label>
        <label>
          Uploaded until
          <input type="date" value={filters.to} onInput={set('to')} />
        </label>
        <button type="submit">Search</button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {page && page.items.length === 0 && (
        <div class="empty">
          {unfiltered ? (
            <p>
              No files yet. Choose <strong>Upload files</strong> above (or drop files on it) to send your first ones;
              each appears here and moves from PROCESSING to READY as it is scanned, validated and stored.
            </p>
          ) : (
            <p>No file matches. Clear the search or the filters to see every file.</p>
          )}
        </div>
      )}
      <ul class="file-list" aria-label="Files">
        {page?.items.map((file) => (
          <FileRow key={file.id} file={file} />
        ))}
      </ul>
      <nav class="pages" aria-label="Pages">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button
          type="button"
          disabled={!page?.nextCursor}
          onClick={() => page?.nextCursor && setCursors([...cursors, page.nextCursor])}
        >
          Next page
        </button>
      </nav>
    </section>
  );
}
