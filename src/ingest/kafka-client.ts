/**
 * Connection options shared by the source and the producer, and their mapping onto kafkajs (the
 * SASL and TLS options are passed through unchanged: kafkajs takes the same shapes). No kafkajs
 * import here: kafka-source.ts and kafka-producer.ts are the only files that import it.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { SeismoError } from '../errors.js';

/** SASL as kafkajs takes it (mechanisms seismo supports; OAUTHBEARER/AWS are not wired). */
export interface SaslOptions {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

/** The narrow logging interface ingest uses; a pino logger satisfies it. */
export interface IngestLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug?(msg: string): void;
}

/** How to reach a cluster. */
export interface KafkaConnectionOptions {
  readonly brokers: readonly string[];
  readonly clientId?: string;
  /** true for TLS with the system CAs; an object for node:tls options (ca, cert, key, servername, ...). */
  readonly ssl?: boolean | ConnectionOptions;
  readonly sasl?: SaslOptions;
  readonly logger?: IngestLogger;
}

const BROKER = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/**
 * Splits and checks a `--brokers` value (`host:port,host:port`); throws a CONFIG SeismoError
 * naming the bad entry, so a typo is one clear line before any connection attempt.
 */
export function parseBrokers(list: string | readonly string[]): string[] {
  const items = (typeof list === 'string' ? list.split(',') : [...list]).map((b) => b.trim()).filter((b) => b !== '');
  if (items.length === 0) throw new SeismoError('CONFIG', 'no Kafka brokers given (--brokers host:port[,host:port])');
  for (const b of items) {
    const m = BROKER.exec(b);
    const port = m ? Number(m[1]) : 0;
    if (!m || port < 1 || port > 65535) {
      throw new SeismoError('CONFIG', `invalid broker address "${b}": expected host:port`);
    }
  }
  return items;
}

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/** Validates SASL settings from flags/env; throws a CONFIG SeismoError on a bad mechanism or missing credentials. */
export function checkSasl(sasl: { mechanism: string; username?: string; password?: string }): SaslOptions {
  const mechanism = sasl.mechanism.toLowerCase();
  if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
    throw new SeismoError('CONFIG', `unsupported SASL mechanism "${sasl.mechanism}" (use ${SASL_MECHANISMS.join(', ')})`);
  }
  if (!sasl.username || sasl.password === undefined) {
    throw new SeismoError('CONFIG', `SASL ${mechanism} needs a username and a password`);
  }
  return { mechanism: mechanism as SaslOptions['mechanism'], username: sasl.username, password: sasl.password };
}

/** Error codes of node:net / node:dns / kafkajs as the short phrase users read. */
export function describeConnectError(err: unknown, timeoutMs: number): string {
  let e: unknown = err;
  // kafkajs wraps the cause (KafkaJSNumberOfRetriesExceeded -> KafkaJSConnectionError -> ...).
  for (let i = 0; i < 5 && e instanceof Error && e.cause !== undefined; i++) e = e.cause;
  const rec = (e ?? {}) as { code?: string; name?: string; message?: string };
  switch (rec.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host';
    case 'ETIMEDOUT':
      return `no answer within ${timeoutMs} ms`;
    case 'ECONNRESET':
      return 'connection reset (TLS or SASL mismatch?)';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
  }
  const msg = (rec.message ?? String(e)).split('\n')[0] ?? '';
  if (rec.name === 'KafkaJSSASLAuthenticationError') return `authentication failed: ${msg.replace(/^SASL \w+ authentication failed: /, '')}`;
  if (/Connection timeout|Request .* timed out|timed out/i.test(msg)) return `no answer within ${timeoutMs} ms`;
  return msg.replace(/^Connection error: /, '');
}

/** TLS settings as flags carry them (`--tls`, `--tls-ca FILE`, ...); files are read here, once. */
export interface TlsSettings {
  readonly enabled?: boolean;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Skip certificate verification (test clusters only). */
  readonly insecure?: boolean;
}

/**
 * Maps TLS settings onto kafkajs' `ssl` (node:tls options): undefined when TLS is off, `true` for
 * TLS with the system CAs, else an options object with the PEM files' contents. Any file setting
 * implies TLS. Throws a CONFIG SeismoError naming an unreadable file.
 */
export function buildSsl(tls: TlsSettings): boolean | ConnectionOptions | undefined {
  const files = tls.caFile ?? tls.certFile ?? tls.keyFile;
  if (!tls.enabled && files === undefined && !tls.insecure) return undefined;
  if (files === undefined && !tls.insecure) return true;
  const read = (file: string, what: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new SeismoError('CONFIG', `cannot read TLS ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  };
  const out: ConnectionOptions = {};
  if (tls.caFile !== undefined) out.ca = [read(tls.caFile, 'CA file')];
  if (tls.certFile !== undefined) out.cert = read(tls.certFile, 'certificate');
  if (tls.keyFile !== undefined) out.key = read(tls.keyFile, 'key');
  if (tls.insecure) out.rejectUnauthorized = false;
  return out;
}
