import { STEP_NAMES } from '../../common/domain';
import { formatByteSize } from '../../common/tenant-limits';
import type { FileView } from '../../api/file-view';
import { renderFields, renderTable } from './table';
import { formatTime, spanBetween } from './when';

/** How `status` shows one file: its record, then the step timeline scan → … → notify. */
export function renderFile(file: FileView): string {
  const fields = renderFields([
    ['id', file.id],
    ['filename', file.filename],
    ['status', file.status],
    ...(file.reason ? ([['reason', file.reason]] as const) : []),
    ['type', file.contentType ?? file.declaredContentType],
    ['size', formatByteSize(file.size)],
    ['sha256', file.sha256],
    ...(file.width && file.height ? ([['pixels', `${file.width}×${file.height}`]] as const) : []),
    ['tags', file.tags.join(', ')],
    ['renditions', file.renditions.map((r) => `${r.name} ${r.width}×${r.height}`).join(', ')],
    ['batch', file.batchId],
    ['created', formatTime(file.createdAt)],
    ['completed', formatTime(file.completedAt)],
    ['expires', formatTime(file.expiresAt)],
    ['hold', file.hold ? 'yes (legal hold)' : 'no'],
    ...(file.deletedAt ? ([['deleted', formatTime(file.deletedAt)]] as const) : []),
    ['workflow', file.links.temporalUi],
  ]);
  return `${fields}\n\n${renderTimeline(file)}`;
}

/** One row per step, in the pipeline's order, with its state, attempts, start, duration and error. */
export function renderTimeline(file: Pick<FileView, 'steps'>): string {
  if (!file.steps) return 'steps: none recorded (the upload was refused before processing, or is too old)';
  const rows = STEP_NAMES.map((name) => {
    const step = file.steps?.[name];
    if (!step) return [name, '—', '', '', '', ''];
    return [
      name,
      step.state,
      step.attempts,
      formatTime(step.startedAt),
      spanBetween(step.startedAt, step.finishedAt),
      step.error ?? '',
    ];
  });
  return renderTable(['step', 'state', 'attempts', 'started', 'took', 'error'], rows);
}

/** A long reason cut to `max` characters in a listing; `status <id>` shows it whole. */
export function shorten(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** `ls`, `search` and `batch`: one line per file. */
export function renderFileRows(files: readonly FileView[]): string {
  return renderTable(
    ['id', 'filename', 'status', 'type', 'size', 'tags', 'created', 'reason'],
    files.map((f) => [
      f.id,
      f.filename,
      f.status,
      f.contentType ?? '',
      formatByteSize(f.size),
      f.tags.join(','),
      formatTime(f.createdAt),
      shorten(f.reason ?? '', 60),
    ]),
  );
}
