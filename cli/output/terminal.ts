/** Where a command writes: the process' streams, or captured ones in tests. */
export interface OutStream {
  write(chunk: string | Uint8Array): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Terminal {
  stdout: OutStream;
  stderr: OutStream;
}

export const processTerminal = (): Terminal => ({ stdout: process.stdout, stderr: process.stderr });

/** A line on stdout: what a script reads. */
export const say = (terminal: Terminal, text: string) => terminal.stdout.write(`${text}\n`);
/** A line on stderr: notes for the person, kept out of piped output. */
export const note = (terminal: Terminal, text: string) => terminal.stderr.write(`${text}\n`);

/** `--json`: one parseable document on stdout, nothing else there. */
export const sayJson = (terminal: Terminal, value: unknown) => say(terminal, JSON.stringify(value, null, 2));
