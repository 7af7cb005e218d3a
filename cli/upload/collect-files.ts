import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import mime from 'mime';
import { CliError } from '../errors';

/** One file to upload: where it is, how to name it to the person and to the API, and its size. */
export interface LocalFile {
  path: string;
  /** As the person named it, or relative to the folder they named. */
  display: string;
  /** The name the API stores (the last path segment). */
  filename: string;
  size: number;
  /**
   * The type its name says (as curl -F and browsers declare it); the API checks it against the content,
   * so a text file named .png ends REJECTED rather than stored as text.
   */
  contentType: string;
}

/**
 * The regular files under `paths`: files as given, folders walked recursively (symlinks followed to
 * files only, so a link loop cannot trap the walk), each file once, in path order within a folder.
 */
export async function collectFiles(paths: readonly string[]): Promise<LocalFile[]> {
  const seen = new Set<string>();
  const files: LocalFile[] = [];
  const add = (path: string, display: string, size: number) => {
    if (seen.has(path)) return;
    seen.add(path);
    files.push({
      path,
      display,
      filename: basename(path),
      size,
      contentType: mime.getType(path) ?? 'application/octet-stream',
    });
  };
  for (const given of paths) {
    const path = resolve(given);
    const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`${given}: ${error.code === 'ENOENT' ? 'no such file or folder' : error.message}`);
    });
    if (info.isFile()) {
      add(path, given, info.size);
      continue;
    }
    if (!info.isDirectory()) throw new CliError(`${given}: not a file or a folder`);
    const entries = await readdir(path, { recursive: true, withFileTypes: true });
    const found: { path: string; size: number }[] = [];
    for (const entry of entries) {
      if (!entry.isFile() && !entry.isSymbolicLink()) continue;
      const full = join(entry.parentPath, entry.name);
      const target = await stat(full).catch(() => undefined);
      if (target?.isFile()) found.push({ path: full, size: target.size });
    }
    found.sort((a, b) => a.path.localeCompare(b.path));
    for (const file of found) add(file.path, join(given, relative(path, file.path)), file.size);
  }
  if (files.length === 0) throw new CliError(`no files found in ${paths.join(' ')}`);
  return files;
}
