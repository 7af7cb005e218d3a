import { access } from 'node:fs/promises';

/** Whether something is at `path` already: the commands that write a file refuse to overwrite it. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
