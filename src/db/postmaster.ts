import fs from 'node:fs/promises';
import path from 'node:path';

/** The postmaster's pid as its data directory's postmaster.pid names it (first line), if any. */
export async function postmasterPid(dataDir: string): Promise<number | undefined> {
  const text = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const pid = Number(text?.split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by another user (the postgres user, when we are not root).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (processAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}

/** Processes whose parent is `pid` (Linux /proc; empty elsewhere): a postmaster's backends. */
export async function childrenOf(pid: number): Promise<number[]> {
  const entries = await fs.readdir('/proc').catch(() => [] as string[]);
  const children: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) children.push(Number(entry));
  }
  return children;
}

/**
 * Stop a postmaster within a bounded time, whatever state it is in: SIGINT (fast shutdown: ends
 * sessions, checkpoints), then SIGQUIT (immediate: crash recovery at next start), then SIGKILL for
 * it and its backends. SIGCONT first, in case it was frozen.
 */
export async function stopPostmaster(pid: number, fastMs = 5_000, immediateMs = 2_000): Promise<void> {
  if (!processAlive(pid)) return;
  const backends = await childrenOf(pid);
  for (const each of [pid, ...backends]) signal(each, 'SIGCONT');
  signal(pid, 'SIGINT');
  if (await gone(pid, fastMs)) return;
  signal(pid, 'SIGQUIT');
  if (await gone(pid, immediateMs)) return;
  for (const each of [pid, ...(await childrenOf(pid))]) signal(each, 'SIGKILL');
  await gone(pid, 1_000);
}
