import type { Connection } from './api-client';
import type { Terminal } from './output/terminal';

/** What every command gets: where to write, and the API connection from the global flags. */
export interface CliContext {
  terminal: Terminal;
  /** From --url/--api-key, else INTAKE_URL/INTAKE_API_KEY; a usage error when there is no key. */
  connection(): Connection;
}
