import Uppy, { type Meta } from '@uppy/core';
import Tus from '@uppy/tus';
import XHRUpload from '@uppy/xhr-upload';
import { useRef, useState } from 'preact/hooks';
import { authHeaders } from './api-client';

/** Above this a file goes by tus (resumable, in chunks); below, with the others in one batch request. */
const RESUMABLE_FROM_BYTES = 16 * 1024 * 1024;
const TUS_CHUNK_BYTES = 8 * 1024 * 1024;

interface Progress {
  name: string;
  percent: number;
  error?: string;
}

export interface UploadedFile {
  id: string;
  filename: string;
}

interface Options {
  tags: string;
  retention: string;
  callbackUrl: string;
}

/** Only the options the user filled in: an empty field is no option at all. */
function chosenMeta(options: Options): Record<string, string> {
  return Object.fromEntries(
    Object.entries(options)
      .map(([name, value]) => [name, value.trim()] as const)
      .filter(([, value]) => value !== ''),
  );
}

/**
 * Uppy does the uploading: small files go together to POST /v1/batches (one XHR, per-file progress),
 * large ones to /v1/tus/ (resumable). The drop area and the file input are ours, so their labels are
 * exactly what the console promises ("Upload files").
 */
function uploadWith(
  files: File[],
  options: Options,
  onProgress: (progress: Progress[], total: number) => void,
  onUploaded: (file: UploadedFile) => void,
): Promise<void> {
  const meta = chosenMeta(options);
  const small = files.filter((file) => file.size < RESUMABLE_FROM_BYTES);
  const large = files.filter((file) => file.size >= RESUMABLE_FROM_BYTES);
  const progress = new Map<string, Progress>();
  const report = () => {
    const all = [...progress.values()];
    const total = all.length ? all.reduce((sum, p) => sum + p.percent, 0) / all.length : 0;
    onProgress(all, Math.round(total));
  };
  const track = (uppy: Uppy) => {
    uppy.on('upload-progress', (file, value) => {
      if (!file || !value.bytesTotal) return;
      progress.set(file.id, {
        name: file.name ?? '',
        percent: Math.round((100 * value.bytesUploaded) / value.bytesTotal),
      });
      report();
    });
    uppy.on('upload-error', (file, error) => {
      if (!file) return;
      progress.set(file.id, { name: file.name ?? '', percent: 0, error: error.message });
      report();
    });
  };
  const runs: Promise<unknown>[] = [];

  if (small.length > 0) {
    const uppy = new Uppy<Meta, Record<string, never>>({ meta });
    uppy.use(XHRUpload, {
      endpoint: '/v1/batches',
      fieldName: 'file',
      bundle: true,
      formData: true,
      headers: authHeaders(),
      allowedMetaFields: Object.keys(meta),
      timeout: 0,
    });
    track(uppy);
    uppy.on('upload-success', (_file, response) => {
      const body = response.body as { files?: UploadedFile[] } | undefined;
      for (const file of body?.files ?? []) onUploaded(file);
    });
    for (const file of small) uppy.addFile({ name: file.name, type: file.type, data: file, source: 'local' });
    runs.push(uppy.upload().finally(() => uppy.destroy()));
  }
  if (large.length > 0) {
    const uppy = new Uppy<Meta, Record<string, never>>({ meta });
    uppy.use(Tus, {
      endpoint: '/v1/tus/',
      headers: authHeaders(),
      chunkSize: TUS_CHUNK_BYTES,
      allowedMetaFields: ['filename', 'filetype', ...Object.keys(meta)],
      // Resuming needs the upload's URL kept across reloads; it holds no secret, the key is a header.
      storeFingerprintForResuming: true,
    });
    track(uppy);
    uppy.on('upload-success', (file, response) => {
      const id = response.uploadURL?.split('/').pop();
      if (file && id) onUploaded({ id, filename: file.name ?? '' });
    });
    for (const file of large) {
      uppy.addFile({
        name: file.name,
        type: file.type,
        data: file,
        source: 'local',
        meta: { filename: file.name, filetype: file.type },
      });
    }
    runs.push(uppy.upload().finally(() => uppy.destroy()));
  }
  return Promise.all(runs).then(() => undefined);
}

export function UploadPanel({ onUploaded }: { onUploaded: (file: UploadedFile) => void }) {
  const [options, setOptions] = useState<Options>({ tags: '', retention: '', callbackUrl: '' });
  const [progress, setProgress] = useState<Progress[]>([]);
  const [total, setTotal] = useState(0);
  const [busy, setBusy] = useState(false);
  const [dragging, setDragging] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  const start = async (files: File[]) => {
    if (files.length === 0) return;
    setBusy(true);
    setProgress(files.map((file) => ({ name: file.name, percent: 0 })));
    setTotal(0);
    try {
      await uploadWith(
        files,
        options,
        (p, t) => {
          setProgress(p);
          setTotal(t);
        },
        onUploaded,
      );
    } finally {
      setBusy(false);
      if (input.current) input.current.value = '';
    }
  };

  const field = (name: keyof Options, label: string, placeholder: string) => (
    <label class="option">
      {label}
      <input
        value={options[name]}
        placeholder={placeholder}
        onInput={(e) => setOptions({ ...options, [name]: e.currentTarget.value })}
      />
    </label>
  );

  return (
    <section class="upload" aria-labelledby="upload-heading">
      <h2 id="upload-heading">Upload</h2>
      <div
        class={`drop-area${dragging ? ' dragging' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          void start([...(e.dataTransfer?.files ?? [])]);
        }}
      >
        <label for="upload-files" class="button">
          Upload files
        </label>
        <input
          id="upload-files"
          ref={input}
          type="file"
          multiple
          class="visually-hidden-input"
          disabled={busy}
          onChange={(e) => void start([...(e.currentTarget.files ?? [])])}
        />
        <p>or drop files here. Several files go up as one batch; large ones resume after a dropped connection.</p>
      </div>
      <details class="options">
        <summary>Options for the next upload</summary>
        {field('tags', 'Tags', 'invoices, 2026')}
        {field('retention', 'Retention', '30d')}
        {field('callbackUrl', 'Callback URL', 'https://example.com/hook')}
      </details>
      {progress.length > 0 && (
        <div class="progress" aria-live="polite">
          <label>
            Total
            <progress max={100} value={total} aria-label="Total upload progress" />
          </label>
          <ul>
            {progress.map((p) => (
              <li key={p.name}>
                <span>{p.name}</span>
                <progress max={100} value={p.percent} aria-label={`Upload progress of ${p.name}`} />
                {p.error && (
                  <span class="error" role="alert">
                    {p.error}
                  </span>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
