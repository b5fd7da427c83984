/**
 * Typed configuration of `seismo run`, from flags and environment, validated once: every problem
 * is a one-line SeismoError('CONFIG'). The only module that reads process.env.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { SeismoError } from './errors.js';
import { checkSasl, parseBrokers, type SaslOptions } from './ingest/kafka-client.js';

export interface RunConfig {
  brokers: string[];
  localKafka: boolean;
  queries: string[];
  db: string;
  port: number;
  host: string;
  group: string;
  from: 'earliest' | 'latest';
  checkpointIntervalMs: number;
  flushIntervalMs: number;
  idleMs: number;
  /** Events this far ahead of the wall clock are dead-lettered: one would close every window. */
  maxFutureMs: number;
  alertsTopic: string;
  deadLetterTopic: string;
  alertmanagerUrl: string | null;
  token: string | null;
  watch: boolean;
  dashboardsDir: string;
  ssl: boolean | ConnectionOptions | undefined;
  sasl: SaslOptions | undefined;
  logLevel: string;
  /** Fetch and decode in a worker thread (the default), or on the engine's thread. */
  ingestWorker: boolean;
}

/** Raw flags as commander hands them over. */
export interface RunFlags {
  brokers?: string;
  localKafka?: boolean;
  queries?: string[];
  db?: string;
  port?: string;
  host?: string;
  group?: string;
  from?: string;
  checkpointInterval?: string;
  flushInterval?: string;
  idleTimeout?: string;
  maxFuture?: string;
  alertsTopic?: string;
  dlqTopic?: string;
  alertmanagerUrl?: string;
  watch?: boolean;
  dashboards?: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  saslMechanism?: string;
  saslUsername?: string;
  saslPassword?: string;
  logLevel?: string;
  ingestWorker?: boolean;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a command-line duration such as `500ms`, `10s`, `5m`, `1h`. */
export function parseCliDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw new SeismoError('CONFIG', `--${flag}: invalid duration "${text}" (use e.g. 500ms, 10s, 5m, 1h)`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new SeismoError('CONFIG', `--port: invalid port "${text}"`);
  return n;
}

function readPem(flag: string, path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new SeismoError('CONFIG', `--${flag}: cannot read ${path}`);
  }
}

/** Builds and validates the run configuration. */
export function runConfig(flags: RunFlags, env: NodeJS.ProcessEnv = process.env): RunConfig {
  const localKafka = flags.localKafka ?? false;
  const brokerList = flags.brokers ?? env.SEISMO_KAFKA_BROKERS ?? (localKafka ? '127.0.0.1:9092' : undefined);
  if (!brokerList) {
    throw new SeismoError('CONFIG', 'no Kafka brokers: pass --brokers host:port (or set SEISMO_KAFKA_BROKERS), or use --local-kafka');
  }
  const from = (flags.from ?? 'earliest').toLowerCase();
  if (from !== 'earliest' && from !== 'latest') throw new SeismoError('CONFIG', `--from: expected earliest or latest, got "${flags.from}"`);
  const mechanism = flags.saslMechanism ?? env.SEISMO_SASL_MECHANISM;
  const sasl = mechanism
    ? checkSasl({
        mechanism,
        username: flags.saslUsername ?? env.SEISMO_SASL_USERNAME,
        password: flags.saslPassword ?? env.SEISMO_SASL_PASSWORD,
      })
    : undefined;
  const ca = readPem('tls-ca', flags.tlsCa);
  const cert = readPem('tls-cert', flags.tlsCert);
  const key = readPem('tls-key', flags.tlsKey);
  const ssl = ca || cert || key ? { ca, cert, key } : flags.tls ? true : undefined;
  const url = flags.alertmanagerUrl ?? env.SEISMO_ALERTMANAGER_URL ?? null;
  if (url && !/^https?:\/\//.test(url)) throw new SeismoError('CONFIG', `--alertmanager-url: expected an http(s) URL, got "${url}"`);
  return {
    brokers: parseBrokers(brokerList),
    localKafka,
    queries: flags.queries?.length ? flags.queries : ['queries'],
    db: flags.db ?? env.SEISMO_DB ?? 'data/seismo.duckdb',
    port: parsePort(flags.port ?? env.SEISMO_PORT ?? '8080'),
    host: flags.host ?? env.SEISMO_HOST ?? '127.0.0.1',
    group: flags.group ?? env.SEISMO_GROUP ?? 'seismo',
    from,
    checkpointIntervalMs: parseCliDuration('checkpoint-interval', flags.checkpointInterval ?? '10s'),
    flushIntervalMs: parseCliDuration('flush-interval', flags.flushInterval ?? '100ms'),
    idleMs: parseCliDuration('idle-timeout', flags.idleTimeout ?? '30s'),
    maxFutureMs: parseCliDuration('max-future', flags.maxFuture ?? '1d'),
    alertsTopic: flags.alertsTopic ?? 'seismo.alerts',
    deadLetterTopic: flags.dlqTopic ?? 'seismo.dlq',
    alertmanagerUrl: url,
    token: env.SEISMO_TOKEN || null,
    watch: flags.watch ?? false,
    dashboardsDir: flags.dashboards ?? 'dashboards',
    ssl,
    sasl,
    logLevel: flags.logLevel ?? env.SEISMO_LOG_LEVEL ?? 'info',
    // commander sets ingestWorker to true unless --no-ingest-worker is given.
    ingestWorker: flags.ingestWorker !== false && env.SEISMO_INGEST_WORKER !== '0',
  };
}
