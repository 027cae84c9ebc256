/**
 * CPU time another process has used, user + system, from /proc/<pid>/stat
 * (Linux; counted in clock ticks of 10 ms, so read it over seconds of work,
 * not per request). Undefined where /proc cannot tell, e.g. on macOS.
 */
import { readFileSync } from 'node:fs';

export function processCpuMs(pid: number): number | undefined {
  try {
    // The command name, in parentheses, may hold spaces: the fields are counted after it.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}
