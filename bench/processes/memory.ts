/** Reading a process's memory from /proc (Linux): its resident set now, its peak, and its descendants. */
import { readdirSync, readFileSync } from 'node:fs';

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  } catch {
    return 0; // exited between listing and reading
  }
}

/** `pid` and every process below it, children before grandchildren. */
export function processTree(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // The command name may hold spaces and parentheses; the parent pid is the second field after its last ')'.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const siblings = parents.get(parent) ?? [];
    siblings.push(Number(name));
    parents.set(parent, siblings);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i]!) ?? []));
  return tree;
}

/** The resident memory of `pid` and all its descendants now, in MiB, with each process's share. */
export function treeRssMiB(pid: number): { total: number; each: { pid: number; mib: number }[] } {
  const each = processTree(pid).map((member) => ({
    pid: member,
    mib: statusKiB(member, 'VmRSS') / 1024,
  }));
  return { total: each.reduce((sum, { mib }) => sum + mib, 0), each };
}

/** The resident memory of one process now, in MiB. */
export function rssMiB(pid: number): number {
  return statusKiB(pid, 'VmRSS') / 1024;
}

/** The peak resident memory of one process since it started, in MiB. */
export function peakMiB(pid: number): number {
  return statusKiB(pid, 'VmHWM') / 1024;
}
