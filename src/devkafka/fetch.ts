/**
 * Fetches the broker's jars from Maven Central once, with the machine's Maven (which also reuses
 * ~/.m2). Maven writes into a scratch folder that is renamed to libs/ only after it succeeded, so
 * an interrupted or failed download never looks complete.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SeismoError } from '../errors.js';
import { KAFKA_SCALA_VERSION, KAFKA_VERSION, renderPom, type ResolvedBrokerOptions } from './options.js';

/** The one-line install hint for a Debian machine, used by every "missing tool" error. */
export const INSTALL_HINT = 'apt-get install -y openjdk-17-jre-headless maven';

/** True when libs/ holds a completed fetch (the broker jar is the last thing checked, cheaply). */
export function jarsPresent(o: ResolvedBrokerOptions): boolean {
  return existsSync(join(o.libsDir, `kafka_${KAFKA_SCALA_VERSION}-${KAFKA_VERSION}.jar`));
}

/** Throws JAVA_MISSING unless a Java 17+ runtime is on PATH (Kafka 4 brokers need 17). */
export function checkJava(): void {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new SeismoError('JAVA_MISSING', `java not found: the local Kafka needs Java 17+ (install with: ${INSTALL_HINT})`);
  }
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${r.stderr}${r.stdout}`);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : NaN;
  if (Number.isFinite(major) && major < 17) {
    throw new SeismoError('JAVA_MISSING', `java ${major} is too old: the local Kafka needs Java 17+ (install with: ${INSTALL_HINT})`);
  }
}

function checkMaven(): void {
  const r = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new SeismoError('MAVEN_MISSING', `mvn not found: fetching the Kafka jars needs Maven (install with: ${INSTALL_HINT})`);
  }
}

/** Makes sure libs/ holds Kafka's runtime classpath, running Maven if it does not yet. */
export async function ensureJars(o: ResolvedBrokerOptions): Promise<void> {
  if (jarsPresent(o)) return;
  checkMaven();
  await mkdir(o.distDir, { recursive: true });
  // A stale libs/ without the broker jar is a leftover of an older layout: replace it.
  await rm(o.libsDir, { recursive: true, force: true });
  const scratch = join(o.distDir, `libs.partial-${process.pid}`);
  await rm(scratch, { recursive: true, force: true });
  const pom = join(o.distDir, 'pom.xml');
  const mvnLog = join(o.distDir, 'mvn.log');
  await writeFile(pom, renderPom());
  o.log(`fetching Apache Kafka ${KAFKA_VERSION} jars with Maven into ${o.libsDir}`);
  const args = ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${scratch}`];
  const code = await runToLog('mvn', args, mvnLog);
  if (code !== 0) {
    await rm(scratch, { recursive: true, force: true });
    throw new SeismoError('BROKER_START', `fetching Kafka ${KAFKA_VERSION} jars with Maven failed (exit ${code}): ${firstMavenError(mvnLog)}; full log: ${mvnLog}`);
  }
  const jars = (await readdir(scratch).catch(() => [] as string[])).filter((f) => f.endsWith('.jar'));
  if (!jars.includes(`kafka_${KAFKA_SCALA_VERSION}-${KAFKA_VERSION}.jar`)) {
    await rm(scratch, { recursive: true, force: true });
    throw new SeismoError('BROKER_START', `Maven finished but the Kafka ${KAFKA_VERSION} broker jar is missing; full log: ${mvnLog}`);
  }
  try {
    await rename(scratch, o.libsDir);
  } catch (err) {
    // Another process finished the same fetch first: its libs/ is as good as ours.
    await rm(scratch, { recursive: true, force: true });
    if (!jarsPresent(o)) throw err;
  }
}

function runToLog(cmd: string, args: string[], logFile: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const out = createWriteStream(logFile);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.on('error', reject);
    child.on('close', (code) => out.end(() => resolvePromise(code ?? 1)));
  });
}

function firstMavenError(logFile: string): string {
  try {
    const text = readFileSync(logFile, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
    const line = text.split('\n').find((l) => l.startsWith('[ERROR]')) ?? text.split('\n').find((l) => l.trim() !== '');
    return (line ?? 'no output').replace(/^\[ERROR\]\s*/, '').slice(0, 300);
  } catch {
    return 'no output';
  }
}
