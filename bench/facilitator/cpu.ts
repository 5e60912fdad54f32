/** CPU time of another process, for a per-settlement cost next to the rate. */
import { readFileSync } from 'node:fs';

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
