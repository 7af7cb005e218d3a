import { MultiBar, type SingleBar } from 'cli-progress';
import { formatByteSize } from '../../common/tenant-limits';
import type { OutStream } from '../output/terminal';
import type { LocalFile } from './collect-files';

/** What `upload` reports as it goes: bytes per file and overall, then each outcome with --wait. */
export interface UploadProgress {
  sent(file: LocalFile, bytes: number): void;
  uploaded(file: LocalFile, id: string): void;
  failed(file: LocalFile, message: string): void;
  settled(file: LocalFile, status: string, reason: string | null): void;
  stop(): void;
}

/** Bars on a terminal, plain lines (one per event) anywhere else: a log, a pipe, CI. */
export function createUploadProgress(stream: OutStream, files: readonly LocalFile[], waiting: boolean): UploadProgress {
  return stream.isTTY ? new BarProgress(stream, files, waiting) : new LineProgress(stream);
}

const outcome = (status: string, reason: string | null) => (reason ? `${status}: ${reason}` : status);

class LineProgress implements UploadProgress {
  /** Large files also report each quarter, so a long upload shows it is moving. */
  private readonly quarters = new Map<LocalFile, number>();
  constructor(private readonly stream: OutStream) {}
  private line(text: string) {
    this.stream.write(`${text}\n`);
  }
  sent(file: LocalFile, bytes: number) {
    if (file.size < 16 * 2 ** 20) return;
    const quarter = Math.floor((bytes / file.size) * 4);
    if (quarter > (this.quarters.get(file) ?? 0) && quarter < 4) {
      this.quarters.set(file, quarter);
      this.line(`${file.display}: ${quarter * 25}% (${formatByteSize(bytes)} of ${formatByteSize(file.size)})`);
    }
  }
  uploaded(file: LocalFile, id: string) {
    this.line(`uploaded ${file.display} (${formatByteSize(file.size)}) → ${id}`);
  }
  failed(file: LocalFile, message: string) {
    this.line(`failed ${file.display}: ${message}`);
  }
  settled(file: LocalFile, status: string, reason: string | null) {
    this.line(`${file.display}: ${outcome(status, reason)}`);
  }
  stop() {}
}

interface BarPayload {
  name: string;
  amount: string;
  state: string;
}

class BarProgress implements UploadProgress {
  private readonly bars: MultiBar;
  private readonly total: SingleBar;
  private readonly outcomes: SingleBar | undefined;
  private readonly perFile = new Map<LocalFile, SingleBar>();
  private readonly sentBytes = new Map<LocalFile, number>();
  private readonly totalBytes: number;
  private uploadedCount = 0;
  private settledCount = 0;

  constructor(
    stream: OutStream,
    private readonly files: readonly LocalFile[],
    waiting: boolean,
  ) {
    this.totalBytes = files.reduce((sum, file) => sum + file.size, 0);
    this.bars = new MultiBar({
      stream: stream as NodeJS.WritableStream,
      format: '{bar} {percentage}% {amount} {name} {state}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
      fps: 8,
    });
    this.total = this.bars.create(Math.max(1, this.totalBytes), 0, this.totalPayload());
    this.outcomes = waiting
      ? this.bars.create(files.length, 0, { name: 'processed', amount: `0/${files.length}`, state: '' })
      : undefined;
  }

  private totalPayload(): BarPayload {
    const sent = [...this.sentBytes.values()].reduce((sum, bytes) => sum + bytes, 0);
    return {
      name: 'all files',
      amount: `${formatByteSize(sent)}/${formatByteSize(this.totalBytes)}`,
      state: `${this.uploadedCount}/${this.files.length} uploaded`,
    };
  }

  sent(file: LocalFile, bytes: number) {
    this.sentBytes.set(file, bytes);
    let bar = this.perFile.get(file);
    const payload = { name: file.display, amount: `${formatByteSize(bytes)}/${formatByteSize(file.size)}`, state: '' };
    if (!bar) {
      bar = this.bars.create(Math.max(1, file.size), bytes, payload);
      this.perFile.set(file, bar);
    } else {
      bar.update(bytes, payload);
    }
    const totals = this.totalPayload();
    this.total.update(
      [...this.sentBytes.values()].reduce((sum, n) => sum + n, 0),
      totals,
    );
  }

  private finish(file: LocalFile, line: string) {
    const bar = this.perFile.get(file);
    if (bar) {
      this.bars.remove(bar);
      this.perFile.delete(file);
    }
    this.bars.log(`${line}\n`);
  }

  uploaded(file: LocalFile, id: string) {
    this.uploadedCount++;
    this.sentBytes.set(file, file.size);
    this.total.update(
      [...this.sentBytes.values()].reduce((sum, n) => sum + n, 0),
      this.totalPayload(),
    );
    this.finish(file, `uploaded ${file.display} (${formatByteSize(file.size)}) → ${id}`);
  }

  failed(file: LocalFile, message: string) {
    this.finish(file, `failed ${file.display}: ${message}`);
    this.settledCount++;
    this.outcomes?.update(this.settledCount, {
      name: 'processed',
      amount: `${this.settledCount}/${this.files.length}`,
      state: '',
    });
  }

  settled(file: LocalFile, status: string, reason: string | null) {
    this.settledCount++;
    this.outcomes?.update(this.settledCount, {
      name: 'processed',
      amount: `${this.settledCount}/${this.files.length}`,
      state: '',
    });
    this.bars.log(`${file.display}: ${outcome(status, reason)}\n`);
  }

  stop() {
    this.bars.stop();
  }
}
