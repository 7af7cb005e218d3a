import { readdirSync, readFileSync } from 'node:fs';

interface CpuTimes {
  busy: number;
  total: number;
}

function readCpu(): CpuTimes {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …: idle and iowait are the not-busy ones.
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** Share of the whole machine's CPU time (all cores) spent busy between start() and the returned stop(). */
export function cpuMeter(): { stop(): number } {
  const start = readCpu();
  return {
    stop() {
      const end = readCpu();
      const total = end.total - start.total;
      return total > 0 ? (end.busy - start.busy) / total : 0;
    },
  };
}

/** CPU seconds the whole machine spent busy since the first call of the returned function. */
function machineBusySeconds(): () => number {
  const start = readCpu();
  return () => (readCpu().busy - start.busy) / CLOCK_TICKS_PER_SECOND;
}

const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime (seconds) and parent of every process, from /proc/<pid>/stat. */
function processTable(): Map<number, { ppid: number; cpu: number }> {
  const table = new Map<number, { ppid: number; cpu: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name (field 2) may hold spaces and parentheses; the fields after its last ')' do not.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(rest[1]);
      const cpu = (Number(rest[11]) + Number(rest[12])) / CLOCK_TICKS_PER_SECOND;
      table.set(Number(entry), { ppid, cpu });
    } catch {
      // exited while we looked
    }
  }
  return table;
}

/** CPU seconds used so far by each named process together with all its descendants. */
function treeCpu(roots: Record<string, number>): Record<string, number> {
  const table = processTable();
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  // A named process inside another's tree (every server is a child of this process) counts only for itself.
  const named = new Set(Object.values(roots));
  const sum = (pid: number): number =>
    (table.get(pid)?.cpu ?? 0) +
    (children.get(pid) ?? []).reduce((total, child) => total + (named.has(child) ? 0 : sum(child)), 0);
  return Object.fromEntries(Object.entries(roots).map(([name, pid]) => [name, sum(pid)]));
}

/**
 * CPU seconds each named process tree (Temporal, MinIO, Postgres with its backends, clamd, the API,
 * the workers, this process) spends between start and stop(): where a run's CPU went.
 */
export function cpuByProcess(roots: () => Record<string, number>): { stop(): Record<string, number> } {
  const named = roots();
  const before = treeCpu(named);
  const machine = machineBusySeconds();
  return {
    stop() {
      const after = treeCpu(named);
      const busy = machine();
      const ours = Object.keys(named).reduce((sum, name) => sum + (after[name] ?? 0) - (before[name] ?? 0), 0);
      const used = Object.keys(named).map((name) => [
        name,
        Number(((after[name] ?? 0) - (before[name] ?? 0)).toFixed(2)),
      ]);
      // Busy time of everything else on the machine (other programs, the kernel): the run's noise.
      used.push(['other', Number(Math.max(0, busy - ours).toFixed(2))]);
      return Object.fromEntries(used) as Record<string, number>;
    },
  };
}

/** CPU seconds per process → CPU milliseconds per file, with the total. */
export function perFile(cpuSeconds: Record<string, number>, files: number): Record<string, number> {
  const out: Record<string, number> = {};
  let total = 0;
  for (const [name, seconds] of Object.entries(cpuSeconds)) {
    out[name] = Math.round((seconds * 1000) / files);
    if (name !== 'other') total += seconds;
  }
  out.total = Math.round((total * 1000) / files);
  return out;
}
