import { StepTimeline } from './step-timeline';
import type { FileView } from './types';

const size = (bytes: number) =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < 1024 ** 2
      ? `${(bytes / 1024).toFixed(1)} KiB`
      : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

/** One file in a list: its name (a link to its page), status word, size and step timeline. */
export function FileRow({ file }: { file: FileView }) {
  return (
    <li class="file-row" data-file-id={file.id} data-status={file.status}>
      <div class="file-row-head">
        <a href={`#/files/${encodeURIComponent(file.id)}`} class="file-name">
          {file.filename}
        </a>
        <span class={`status status-${file.status.toLowerCase()}`}>{file.status}</span>
        <span class="file-size">{size(file.size)}</span>
      </div>
      {file.reason && file.status !== 'READY' && (
        <p class="reason">{file.status === 'DELETED' ? `Deleted (${file.reason})` : file.reason}</p>
      )}
      <StepTimeline file={file} />
    </li>
  );
}
