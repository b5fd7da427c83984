import type { Command } from 'commander';
import { watch as fsWatch } from 'node:fs';
import pino from 'pino';
import { runConfig, type RunFlags } from '../config.js';
import { startService } from '../app.js';
import { startBroker } from '../devkafka/broker.js';
import { describeError } from '../errors.js';

/** Registers `seismo run`. */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the service: consume the streams, maintain views, evaluate alerts, serve dashboards')
    .option('-b, --brokers <list>', 'Kafka bootstrap servers, host:port[,host:port] (env SEISMO_KAFKA_BROKERS)')
    .option('--local-kafka', 'start (or reuse) the local single-node Kafka and use it')
    .option('-q, --queries <paths...>', 'query files or directories (default: queries/)')
    .option('--db <file>', 'DuckDB file for history and checkpoints (default: data/seismo.duckdb)')
    .option('-p, --port <port>', 'HTTP and WebSocket port (default: 8080)')
    .option('--host <host>', 'bind address (default: 127.0.0.1)')
    .option('-g, --group <id>', 'Kafka consumer group (default: seismo)')
    .option('--from <where>', 'where a new consumer group starts: earliest or latest (default: earliest)')
    .option('--checkpoint-interval <duration>', 'how often state is checkpointed to DuckDB (default: 10s)')
    .option('--flush-interval <duration>', 'how often live changes are pushed (default: 100ms)')
    .option('--idle-timeout <duration>', 'a partition without events this long stops holding the watermark (default: 30s)')
    .option('--max-future <duration>', 'events whose time is further ahead of the wall clock go to the dead-letter topic (default: 1d)')
    .option('--alerts-topic <topic>', 'topic for alert events (default: seismo.alerts)')
    .option('--dlq-topic <topic>', 'dead-letter topic (default: seismo.dlq)')
    .option('--alertmanager-url <url>', 'also POST alerts to this Alertmanager (v2 API)')
    .option('--dashboards <dir>', 'dashboard definitions (default: dashboards/)')
    .option('--watch', 'reload the query files when they change (SIGHUP always reloads)')
    .option('--tls', 'connect to Kafka over TLS with the system CAs')
    .option('--tls-ca <file>', 'CA certificate (PEM) for Kafka TLS')
    .option('--tls-cert <file>', 'client certificate (PEM) for Kafka mTLS')
    .option('--tls-key <file>', 'client key (PEM) for Kafka mTLS')
    .option('--sasl-mechanism <m>', 'plain, scram-sha-256 or scram-sha-512 (env SEISMO_SASL_MECHANISM)')
    .option('--sasl-username <user>', 'SASL username (env SEISMO_SASL_USERNAME)')
    .option('--sasl-password <password>', 'SASL password (prefer env SEISMO_SASL_PASSWORD)')
    .option('--no-ingest-worker', 'fetch and decode on the engine\'s thread instead of a worker thread (env SEISMO_INGEST_WORKER=0)')
    .option('--log-level <level>', 'trace, debug, info, warn or error (default: info)')
    .action(async (flags: RunFlags) => {
      const cfg = runConfig(flags);
      const log = pino({ level: cfg.logLevel, base: undefined }, pino.destination(2));
      // Installed before anything starts and kept to the end, so no stop signal ever meets the
      // default action (death by signal): while starting (joining the group can take seconds) it
      // is remembered and honoured once the service is up.
      const signals = stopSignals(log);
      if (cfg.localKafka) await startBroker({});
      const service = await startService(cfg, log);
      process.stderr.write(`seismo: dashboard at ${service.url}/\n`);
      void service.fatal.then(async (err) => {
        process.stderr.write(`seismo: ${err.message}\n`);
        await service.stop().catch(() => undefined);
        process.exit(1);
      });
      watchQueries(service, cfg.watch ? cfg.queries : [], log);
      await signals.stopOnSignal(service);
      process.exit(process.exitCode ?? 0);
    });
}

/** SIGHUP (and --watch: a change to a query file) reloads the queries. */
function watchQueries(service: { reload(): Promise<boolean> }, watch: string[], log: pino.Logger): void {
  process.on('SIGHUP', () => void service.reload());
  if (watch.length === 0) return;
  let timer: NodeJS.Timeout | null = null;
  for (const p of watch) {
    try {
      fsWatch(p, { recursive: false }, () => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => void service.reload(), 300);
      });
    } catch (err) {
      log.warn(`cannot watch ${p}: ${describeError(err)}`);
    }
  }
}

/**
 * SIGTERM/SIGINT stop gracefully (bounded by 30 s); a second one exits at once. The handlers
 * are installed now; a signal that comes before `stopOnSignal` is remembered.
 */
function stopSignals(log: pino.Logger): { stopOnSignal(service: { stop(): Promise<void> }): Promise<void> } {
  let received: string | null = null;
  let wake: (() => void) | null = null;
  const onSignal = (sig: string) => {
    if (received !== null) {
      log.warn(`${sig} again: exiting without finishing the stop`);
      process.exit(1);
    }
    received = sig;
    wake?.();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  return {
    async stopOnSignal(service) {
      if (received === null) await new Promise<void>((resolve) => (wake = resolve));
      log.info(`${received}: stopping`);
      const deadline = setTimeout(() => {
        log.error('stop took longer than 30 s; exiting');
        process.exit(1);
      }, 30_000);
      deadline.unref();
      await service.stop().catch((err: unknown) => {
        log.error(`stop failed: ${describeError(err)}`);
        process.exitCode = 1;
      });
    },
  };
}
