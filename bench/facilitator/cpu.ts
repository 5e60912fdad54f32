/** CPU time of other processes, for a per-settlement cost next to the rate. */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times: 100 on Linux everywhere this bench runs. */
const TICKS_PER_SECOND = 100;

/**
 * A process's CPU times from `/proc/<pid>/stat`, in milliseconds: its own (user plus system), and that of the
 * children it waited for once they exited.
 */
function cpuTimesOf(pid: number): { own: number; reaped: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number) as [
    number,
    number,
    number,
    number,
  ];
  const ms = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND;
  return { own: ms(utime + stime), reaped: ms(cutime + cstime) };
}

/** User plus system CPU milliseconds the process has used so far. */
export function cpuMsOf(pid: number): number {
  return cpuTimesOf(pid).own;
}

/**
 * CPU milliseconds used so far by every PostgreSQL process on this machine (the server, its background workers and
 * the backends serving connections), read off /proc by command name. A backend or worker that exited counts too,
 * through the server that reaped it: without it, an autovacuum worker ending between two readings made the
 * difference negative. One that exits during a reading, after the server was read and before itself, is still
 * missed by that reading.
 */
export function postgresCpuMs(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      const { own, reaped } = cpuTimesOf(Number(entry));
      total += own + reaped;
    } catch {
      // Gone since the listing.
    }
  }
  return total;
}
