/** CPU time of another process, for a per-settlement cost next to the rate. */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime: 100 on Linux everywhere this bench runs. */
const TICKS_PER_SECOND = 100;

/**
 * User plus system CPU milliseconds the process has used so far (Linux `/proc/<pid>/stat`); with `reaped`, also that
 * of the children it has waited for since they exited.
 */
export function cpuMsOf(pid: number, reaped = false): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number) as [
    number,
    number,
    number,
    number,
  ];
  return ((utime + stime + (reaped ? cutime + cstime : 0)) * 1000) / TICKS_PER_SECOND;
}

/**
 * CPU milliseconds used so far by every PostgreSQL process on this machine (the server, its background workers and
 * the backends serving connections), read off /proc by command name. A backend or worker that exited counts too,
 * through the server that reaped it: without it, an autovacuum worker ending between two readings made the
 * difference negative.
 */
export function postgresCpuMs(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      total += cpuMsOf(Number(entry), true);
    } catch {
      // Gone since the listing.
    }
  }
  return total;
}
