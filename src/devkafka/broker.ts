/**
 * The local single-node Apache Kafka (KRaft, broker and controller in one JVM) used by
 * development, tests and the demo: fetch the jars once, format storage once, start detached,
 * wait until it serves metadata, stop only what we started. Every function takes the same
 * BrokerOptions, so a test can run a second, independent broker on other ports.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SeismoError } from '../errors.js';
import { checkJava, ensureJars } from './fetch.js';
import { newClusterId, renderServerProperties, resolveBrokerOptions, type BrokerOptions, type ResolvedBrokerOptions } from './options.js';
import { isAlive, isOurBroker, portOpen, readPid, sleep, terminate, withLock } from './process.js';
import { answersMetadata } from './probe.js';

export { KAFKA_VERSION, type BrokerOptions } from './options.js';

/** What start reports. */
export interface BrokerInfo {
  /** host:port for clients (kafkajs `brokers`, `--brokers`). */
  readonly bootstrap: string;
  readonly pid: number;
  readonly logFile: string;
  readonly dataDir: string;
  /** True when a broker this folder had started was already running and is reused. */
  readonly reused: boolean;
}

/** What status reports. `starting`: our process is alive but does not answer metadata yet. */
export interface BrokerStatus {
  readonly state: 'running' | 'starting' | 'stopped';
  readonly bootstrap: string;
  readonly pid: number | null;
  readonly logFile: string;
  readonly dataDir: string;
}

/** What stop did: `stopped` (SIGTERM sufficed), `killed` (needed SIGKILL) or `not-running`. */
export interface StopResult {
  readonly result: 'stopped' | 'killed' | 'not-running';
  readonly pid: number | null;
}

const JVM_OPTIONS = [
  '-Xms256m',
  '-Xmx1g',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-Djava.awt.headless=true',
  '-Dorg.slf4j.simpleLogger.showDateTime=true',
  '-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss.SSS',
];

/**
 * Starts the broker, or reuses it when the one this folder started is still running, and
 * resolves once it answers a metadata request. Fetches jars and formats storage on first use.
 */
export async function startBroker(opts: BrokerOptions = {}): Promise<BrokerInfo> {
  const o = resolveBrokerOptions(opts);
  await mkdir(o.dataDir, { recursive: true });
  return withLock(o.lockFile, o.startTimeoutMs, async () => {
    const existing = readPid(o.pidFile);
    if (existing !== null && isOurBroker(existing, o.serverProperties)) {
      await waitUntilReady(o, existing);
      return info(o, existing, true);
    }
    await rm(o.pidFile, { force: true });
    for (const port of [o.port, o.controllerPort]) {
      if (await portOpen(o.host, port)) {
        throw new SeismoError(
          'BROKER_START',
          `port ${port} on ${o.host} is already in use by a process seismo did not start here: stop it, or choose another port (--port)`,
        );
      }
    }
    checkJava();
    await ensureJars(o);
    await writeFile(o.serverProperties, renderServerProperties(o));
    await formatStorage(o);
    const pid = launch(o);
    await writeFile(o.pidFile, `${pid}\n`);
    try {
      await waitUntilReady(o, pid);
    } catch (err) {
      // A broker that never became ready is ours to clean up; leave nothing half-started behind.
      if (isAlive(pid)) await terminate(pid, 5_000);
      await rm(o.pidFile, { force: true });
      throw err;
    }
    return info(o, pid, false);
  });
}

/** Stops the broker this folder started (SIGTERM, then SIGKILL after stopTimeoutMs). Never signals another process. */
export async function stopBroker(opts: BrokerOptions = {}): Promise<StopResult> {
  const o = resolveBrokerOptions(opts);
  const pid = readPid(o.pidFile);
  if (pid === null || !isOurBroker(pid, o.serverProperties)) {
    // A stale pid file (crash, reboot) must not make a later stop signal whoever reused the pid.
    await rm(o.pidFile, { force: true });
    return { result: 'not-running', pid: null };
  }
  const how = await terminate(pid, o.stopTimeoutMs);
  await rm(o.pidFile, { force: true });
  return { result: how === 'killed' ? 'killed' : 'stopped', pid };
}

/** Reports whether the broker this folder started is running and answering. */
export async function brokerStatus(opts: BrokerOptions = {}): Promise<BrokerStatus> {
  const o = resolveBrokerOptions(opts);
  const pid = readPid(o.pidFile);
  const ours = pid !== null && isOurBroker(pid, o.serverProperties);
  const state = !ours ? 'stopped' : (await answersMetadata(o.bootstrap)) ? 'running' : 'starting';
  return { state, bootstrap: o.bootstrap, pid: ours ? pid : null, logFile: o.logFile, dataDir: o.dataDir };
}

function info(o: ResolvedBrokerOptions, pid: number, reused: boolean): BrokerInfo {
  return { bootstrap: o.bootstrap, pid, logFile: o.logFile, dataDir: o.dataDir, reused };
}

function classpath(o: ResolvedBrokerOptions): string {
  return `${o.libsDir}/*`;
}

/** Formats KRaft storage once; later starts find meta.properties and keep their topics. */
async function formatStorage(o: ResolvedBrokerOptions): Promise<void> {
  if (existsSync(join(o.logDirs, 'meta.properties'))) return;
  await mkdir(o.logDirs, { recursive: true });
  const clusterId = newClusterId((n) => randomBytes(n));
  // kafka.tools.StorageTool is what bin/kafka-storage.sh runs in 4.x; a static voter set needs
  // only the cluster id (no --standalone / --initial-controllers).
  const args = ['-cp', classpath(o), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', o.serverProperties, '--ignore-formatted'];
  const r = spawnSync('java', args, { encoding: 'utf8', cwd: o.dataDir });
  await writeFile(o.logFile, `# kafka-storage format\n${r.stdout ?? ''}${r.stderr ?? ''}\n`);
  if (r.error || r.status !== 0) {
    const reason = lastProblem(`${r.stdout ?? ''}\n${r.stderr ?? ''}`) ?? `exit ${r.status}`;
    throw new SeismoError('BROKER_START', `formatting Kafka storage in ${o.logDirs} failed: ${reason}; log: ${o.logFile}`);
  }
}

/** Spawns the broker JVM detached (its own session: a Ctrl-C in our terminal does not reach it). */
function launch(o: ResolvedBrokerOptions): number {
  const fd = openSync(o.logFile, 'a');
  try {
    const child = spawn('java', [...JVM_OPTIONS, '-cp', classpath(o), 'kafka.Kafka', o.serverProperties], {
      cwd: o.dataDir,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    // Spawn failures surface as 'error' events; the readiness wait reports them via the log.
    child.on('error', () => {});
    child.unref();
    if (child.pid === undefined) throw new SeismoError('BROKER_START', `could not start java (log: ${o.logFile})`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** Polls until the broker answers metadata; fails fast when the process dies, with the log's reason. */
async function waitUntilReady(o: ResolvedBrokerOptions, pid: number): Promise<void> {
  const deadline = Date.now() + o.startTimeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (!isAlive(pid)) {
      const reason = lastProblem(readTail(o.logFile)) ?? 'no error in the log';
      throw new SeismoError('BROKER_START', `the Kafka broker exited during startup: ${reason}; log: ${o.logFile}`);
    }
    if (await answersMetadata(o.bootstrap, 2000)) return;
    if (attempt === 0) o.log(`waiting for Kafka at ${o.bootstrap} (pid ${pid})`);
    if (Date.now() > deadline) {
      throw new SeismoError(
        'BROKER_START',
        `the Kafka broker (pid ${pid}) did not answer on ${o.bootstrap} within ${Math.round(o.startTimeoutMs / 1000)} s; log: ${o.logFile}`,
        { retriable: true },
      );
    }
    await sleep(500);
  }
}

function readTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-20_000);
  } catch {
    return '';
  }
}

/** The most telling line of a JVM's output: the last ERROR/exception line, trimmed to one line. */
function lastProblem(text: string): string | null {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const hit = [...lines].reverse().find((l) => /\bERROR\b|Exception|Error:/.test(l));
  return hit === undefined ? null : hit.slice(0, 300);
}
