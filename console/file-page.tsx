import { useEffect, useState } from 'preact/hooks';
import { describeError, getBlob, getJson, sendJson } from './api-client';
import { watchFiles } from './live-files';
import { StepTimeline } from './step-timeline';
import { contentHidden, type FileView } from './types';

/** Reasons in plain words: what happened, and what the user can do. */
function plainReason(file: FileView): string | null {
  switch (file.status) {
    case 'INFECTED':
      return `The virus scanner found malware in this file (${file.reason ?? 'unnamed signature'}). It is quarantined and can never be downloaded.`;
    case 'REJECTED':
      return `This file was refused: ${file.reason ?? 'its content is not allowed'}. Nothing of it is served.`;
    case 'FAILED':
      return `Processing failed after every retry: ${file.reason ?? 'unknown error'}.`;
    case 'DELETED':
      return `This file was deleted (${file.reason ?? 'on request'}); its bytes are gone.`;
    default:
      return null;
  }
}

async function saveAs(path: string, filename: string): Promise<void> {
  const url = URL.createObjectURL(await getBlob(path));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function Thumb({ file }: { file: FileView }) {
  const [src, setSrc] = useState<string | null>(null);
  const thumb = file.renditions.find((r) => r.name === 'thumb');
  useEffect(() => {
    if (!thumb || contentHidden(file)) return;
    let url: string | null = null;
    getBlob(`/v1/files/${file.id}/renditions/thumb`).then(
      (blob) => setSrc((url = URL.createObjectURL(blob))),
      () => setSrc(null),
    );
    return () => {
      if (url) URL.revokeObjectURL(url);
    };
  }, [file.id, thumb?.size, file.status]);
  if (!thumb || !src || contentHidden(file)) return null;
  return <img class="thumb" src={src} alt={`Preview of ${file.filename}`} width={thumb.width} height={thumb.height} />;
}

export function FilePage({ id }: { id: string }) {
  const [file, setFile] = useState<FileView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [extendBy, setExtendBy] = useState('30d');
  const [expiresAt, setExpiresAt] = useState('');

  const reload = () =>
    getJson<FileView>(`/v1/files/${encodeURIComponent(id)}`).then(setFile, (failure: unknown) =>
      setError(describeError(failure)),
    );
  useEffect(() => {
    void reload();
    return watchFiles((changed) => {
      if (changed.id === id) setFile(changed);
    });
  }, [id]);

  const act = async (what: string, run: () => Promise<unknown>) => {
    setError(null);
    setNotice(null);
    try {
      await run();
      setNotice(`${what}: done.`);
      await reload();
    } catch (failure) {
      setError(`${what} refused: ${describeError(failure)}`);
    }
  };
  const retention = (change: Record<string, unknown>) =>
    sendJson('PATCH', `/v1/files/${encodeURIComponent(id)}/retention`, change);

  if (!file) {
    return (
      <main class="file-page">
        <a href="#/">← All files</a>
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : (
          <p>Loading…</p>
        )}
      </main>
    );
  }
  const reason = plainReason(file);
  const hidden = contentHidden(file);
  return (
    <main class="file-page">
      <a href="#/">← All files</a>
      <h2>
        {file.filename} <span class={`status status-${file.status.toLowerCase()}`}>{file.status}</span>
      </h2>
      {reason && <p class="reason">{reason}</p>}
      <Thumb file={file} />
      <dl class="meta">
        <dt>File id</dt>
        <dd>{file.id}</dd>
        <dt>Type</dt>
        <dd>{file.contentType ?? (file.status === 'PROCESSING' ? 'not yet known' : 'never determined')}</dd>
        <dt>Size</dt>
        <dd>{file.size} bytes</dd>
        {file.width && (
          <>
            <dt>Dimensions</dt>
            <dd>
              {file.width} × {file.height}
            </dd>
          </>
        )}
        <dt>Tags</dt>
        <dd>{file.tags.length ? file.tags.join(', ') : 'none'}</dd>
        <dt>Uploaded</dt>
        <dd>{new Date(file.createdAt).toLocaleString()}</dd>
        <dt>Expires</dt>
        <dd>{file.expiresAt ? new Date(file.expiresAt).toLocaleString() : 'never'}</dd>
        <dt>Legal hold</dt>
        <dd>{file.hold ? 'on hold' : 'no'}</dd>
        <dt>sha256</dt>
        <dd class="sha">
          <code>{file.sha256 ?? 'not yet computed'}</code>
          {file.sha256 && (
            <button
              type="button"
              onClick={() =>
                void navigator.clipboard.writeText(file.sha256 ?? '').then(() => setNotice('sha256 copied.'))
              }
            >
              Copy sha256
            </button>
          )}
        </dd>
        <dt>Workflow</dt>
        <dd>
          <a href={file.links.temporalUi} target="_blank" rel="noopener noreferrer">
            Open the workflow in the Temporal Web UI
          </a>
        </dd>
      </dl>
      <StepTimeline file={file} />
      {!hidden && (
        <div class="actions" aria-label="Downloads">
          <button
            type="button"
            onClick={() => void act('Download', () => saveAs(`/v1/files/${file.id}/content`, file.filename))}
          >
            Download original
          </button>
          {file.renditions.map((r) => (
            <button
              type="button"
              key={r.name}
              onClick={() =>
                void act('Download', () =>
                  saveAs(`/v1/files/${file.id}/renditions/${r.name}`, `${file.filename}-${r.name}.${r.format}`),
                )
              }
            >
              Download {r.name} ({r.width}×{r.height})
            </button>
          ))}
        </div>
      )}
      {file.status !== 'DELETED' && (
        <section class="retention" aria-labelledby="retention-heading">
          <h3 id="retention-heading">Retention</h3>
          <div class="row">
            <label>
              Extend by
              <input value={extendBy} onInput={(e) => setExtendBy(e.currentTarget.value)} />
            </label>
            <button type="button" onClick={() => void act('Extend', () => retention({ extendBy }))}>
              Extend
            </button>
          </div>
          <div class="row">
            <label>
              New expiry
              <input type="datetime-local" value={expiresAt} onInput={(e) => setExpiresAt(e.currentTarget.value)} />
            </label>
            <button
              type="button"
              disabled={!expiresAt}
              onClick={() => void act('Set expiry', () => retention({ expiresAt: new Date(expiresAt).toISOString() }))}
            >
              Set expiry
            </button>
          </div>
          <div class="row">
            {file.hold ? (
              <button type="button" onClick={() => void act('Release', () => retention({ hold: false }))}>
                Release hold
              </button>
            ) : (
              <button type="button" onClick={() => void act('Hold', () => retention({ hold: true }))}>
                Place on hold
              </button>
            )}
            <button
              type="button"
              class="danger"
              onClick={() => {
                if (window.confirm(`Delete ${file.filename} and every rendition? This cannot be undone.`)) {
                  void act('Delete', () => sendJson('DELETE', `/v1/files/${encodeURIComponent(file.id)}`));
                }
              }}
            >
              Delete file
            </button>
          </div>
        </section>
      )}
      <div aria-live="polite">
        {notice && <p class="notice">{notice}</p>}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </div>
    </main>
  );
}
