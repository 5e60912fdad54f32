/** CPU time of another process, for a per-settlement cost next to the rate. */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime: 100 on Linux everywhere this bench runs. */
const TICKS_PER_SECOND = 100;

/** User plus system CPU milliseconds the process has used so far (Linux `/proc/<pid>/stat`). */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}

/**
 * CPU milliseconds used so far by every PostgreSQL process on this machine (the server, its background workers and
 * the backends serving connections), read off /proc by command name. A backend that exits between two readings takes
 * its share with it, so keep the connections open across a measurement.
 */
export function postgresCpuMs(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      total += cpuMsOf(Number(entry));
    } catch {
      // Gone since the listing.
    }
  }
  return total;
}
