/**
 * The operating-system side of the local broker: pid files, recognising our own java process
 * (so stop never signals an unrelated process that reused the pid), a start lock, and port probes.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { connect } from 'node:net';

/** Reads a pid file; null when absent or unreadable. */
export function readPid(pidFile: string): number | null {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** True when a process with this pid exists (a zombie counts as gone: it has no command line). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return commandLine(pid) !== '';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process's command line, arguments separated by spaces; '' when it cannot be read. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    try {
      // No /proc (macOS): ask ps.
      return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  }
}

/**
 * True when pid is a running `java ... kafka.Kafka <serverProperties>`: the broker this instance
 * folder started, not some other broker and not whatever process later reused the pid.
 */
export function isOurBroker(pid: number, serverProperties: string): boolean {
  const cmd = commandLine(pid);
  return /\bjava\b/.test(cmd) && cmd.includes(' kafka.Kafka ') && cmd.includes(serverProperties);
}

/** True when something accepts TCP connections on host:port within timeoutMs. */
export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolvePromise(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Sleeps without holding the event loop open past the caller's interest. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Sends SIGTERM, waits up to timeoutMs for the process to exit, then SIGKILL. */
export async function terminate(pid: number, timeoutMs: number): Promise<'terminated' | 'killed'> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'terminated';
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'terminated';
    await sleep(200);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'terminated';
  }
  while (isAlive(pid)) await sleep(100);
  return 'killed';
}

/**
 * Runs fn while holding an exclusive lock file, so two `start`s at once (two test runs, or a test
 * run and the demo) do not both format and launch a broker. A lock whose owner died is taken over.
 */
export async function withLock<T>(lockFile: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = readPid(lockFile);
      const ageMs = ageOf(lockFile);
      if ((owner !== null && !isAlive(owner)) || (owner === null && ageMs > 5_000)) {
        rmSync(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockFile} (held by pid ${owner ?? '?'})`);
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockFile, { force: true });
  }
}

function ageOf(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}
