/**
 * Where the local broker lives and how it is configured: the pinned Kafka version, the cache
 * layout and the broker's server.properties. Pure functions of the options, so they are easy to
 * test and a second broker is just a second set of options.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The Apache Kafka release the local broker runs. Bumping it re-fetches the jars into a new folder. */
export const KAFKA_VERSION = '4.4.0';
/** Scala build of the broker artifact (`kafka_<scala>`); Kafka 4 ships only 2.13. */
export const KAFKA_SCALA_VERSION = '2.13';
/** slf4j binding added to the broker's classpath so its log file says something (Kafka 4.4 uses slf4j 1.7). */
export const SLF4J_SIMPLE_VERSION = '1.7.36';

/** How to place and run one local broker. Every field is optional; see resolveBrokerOptions. */
export interface BrokerOptions {
  /** Cache root (jars and broker instances). Default: $SEISMO_HOME, else ~/.cache/seismo. */
  home?: string;
  /** Client (PLAINTEXT) port on 127.0.0.1. Default 9092. */
  port?: number;
  /** KRaft controller port on 127.0.0.1. Default port + 1. */
  controllerPort?: number;
  /** This broker's folder (config, pid, log, data). Default <home>/broker-<port>. */
  dataDir?: string;
  /** How long start waits for the broker to answer a metadata request. Default 90 s. */
  startTimeoutMs?: number;
  /** How long stop waits after SIGTERM before SIGKILL. Default 30 s. */
  stopTimeoutMs?: number;
  /** Progress messages (e.g. "fetching jars"); silent by default. */
  log?: (line: string) => void;
}

/** BrokerOptions with every default filled in and every path derived. */
export interface ResolvedBrokerOptions {
  readonly home: string;
  readonly port: number;
  readonly controllerPort: number;
  readonly host: string;
  readonly bootstrap: string;
  /** <home>/kafka-<version>: pom, Maven log, libs/. */
  readonly distDir: string;
  /** The broker's jars; exists only once a fetch has fully succeeded. */
  readonly libsDir: string;
  readonly dataDir: string;
  readonly logDirs: string;
  readonly serverProperties: string;
  readonly pidFile: string;
  readonly logFile: string;
  readonly lockFile: string;
  readonly startTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly log: (line: string) => void;
}

/** Fills in defaults and derives the cache layout; throws on a port that cannot be used. */
export function resolveBrokerOptions(opts: BrokerOptions = {}): ResolvedBrokerOptions {
  const home = resolve(opts.home ?? process.env.SEISMO_HOME ?? join(homedir(), '.cache', 'seismo'));
  const port = opts.port ?? 9092;
  const controllerPort = opts.controllerPort ?? port + 1;
  for (const [name, p] of [['port', port], ['controller port', controllerPort]] as const) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new RangeError(`invalid ${name} ${p}: expected 1-65535`);
  }
  if (port === controllerPort) throw new RangeError(`port and controller port must differ (both ${port})`);
  const host = '127.0.0.1';
  const distDir = join(home, `kafka-${KAFKA_VERSION}`);
  const dataDir = resolve(opts.dataDir ?? join(home, `broker-${port}`));
  return {
    home,
    port,
    controllerPort,
    host,
    bootstrap: `${host}:${port}`,
    distDir,
    libsDir: join(distDir, 'libs'),
    dataDir,
    logDirs: join(dataDir, 'data'),
    serverProperties: join(dataDir, 'server.properties'),
    pidFile: join(dataDir, 'broker.pid'),
    logFile: join(dataDir, 'broker.log'),
    lockFile: join(dataDir, 'start.lock'),
    startTimeoutMs: opts.startTimeoutMs ?? 90_000,
    stopTimeoutMs: opts.stopTimeoutMs ?? 30_000,
    log: opts.log ?? (() => {}),
  };
}

/**
 * server.properties for a single node that is both broker and KRaft controller. A static voter
 * set (controller.quorum.voters) rather than a dynamic quorum: the voters then come from this
 * file, not from the formatted storage, so changing the controller port never strands the data.
 */
export function renderServerProperties(o: ResolvedBrokerOptions): string {
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@${o.host}:${o.controllerPort}`,
    listeners: `PLAINTEXT://${o.host}:${o.port},CONTROLLER://${o.host}:${o.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${o.host}:${o.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': o.logDirs,
    'num.partitions': 1,
    'default.replication.factor': 1,
    'auto.create.topics.enable': true,
    'delete.topic.enable': true,
    // One node: internal topics cannot have more replicas than brokers.
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'min.insync.replicas': 1,
    // Fewer internal partitions than the default 50: the first group or transaction of a fresh
    // broker waits for these to be created, and tests start many short-lived groups.
    'offsets.topic.num.partitions': 5,
    'transaction.state.log.num.partitions': 5,
    // Consumers in tests join immediately instead of waiting 3 s for more members.
    'group.initial.rebalance.delay.ms': 0,
    'log.retention.hours': 168,
    'log.segment.bytes': 64 * 1024 * 1024,
  };
  const lines = Object.entries(props).map(([k, v]) => `${k}=${String(v)}`);
  return `# Written by seismo (src/devkafka); rewritten on every start.\n${lines.join('\n')}\n`;
}

/** The Maven project whose runtime dependencies are the broker's classpath. */
export function renderPom(): string {
  const dep = (g: string, a: string, v: string) =>
    `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return [
    '<project xmlns="http://maven.apache.org/POM/4.0.0">',
    '  <modelVersion>4.0.0</modelVersion>',
    `  <groupId>seismo.devkafka</groupId><artifactId>kafka-broker</artifactId><version>${KAFKA_VERSION}</version>`,
    '  <packaging>pom</packaging>',
    '  <dependencies>',
    dep('org.apache.kafka', `kafka_${KAFKA_SCALA_VERSION}`, KAFKA_VERSION),
    dep('org.slf4j', 'slf4j-simple', SLF4J_SIMPLE_VERSION),
    '  </dependencies>',
    '</project>',
    '',
  ].join('\n');
}

/** A Kafka cluster id: 16 random bytes, base64url without padding (what `kafka-storage random-uuid` prints). */
export function newClusterId(randomBytes: (n: number) => Uint8Array): string {
  for (;;) {
    const id = Buffer.from(randomBytes(16)).toString('base64url');
    // Kafka's Uuid.randomUuid() rejects ids starting with '-' (they read as CLI flags).
    if (!id.startsWith('-')) return id;
  }
}
