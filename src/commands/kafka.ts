import { Command, InvalidArgumentError } from 'commander';
import { describeError } from '../errors.js';
import { brokerStatus, startBroker, stopBroker, type BrokerOptions } from '../devkafka/broker.js';

interface PortFlags {
  port: number;
  controllerPort?: number;
}

function parsePort(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port number 1-65535');
  return n;
}

function brokerOptions(flags: PortFlags): BrokerOptions {
  return {
    port: flags.port,
    ...(flags.controllerPort === undefined ? {} : { controllerPort: flags.controllerPort }),
    // Progress (jar fetch, waiting) goes to stderr so stdout stays one fact a line.
    log: (line) => process.stderr.write(`seismo kafka: ${line}\n`),
  };
}

function withPortFlags(cmd: Command): Command {
  return cmd
    .option('--port <port>', 'client port on 127.0.0.1', parsePort, 9092)
    .option('--controller-port <port>', 'KRaft controller port (default: port + 1)', parsePort);
}

/** Prints facts as `key: value` lines (greppable, one fact a line). */
function printFacts(facts: Array<[string, string | number]>): void {
  process.stdout.write(facts.map(([k, v]) => `${k}: ${v}\n`).join(''));
}

/** Runs an action, turning any failure into one line on stderr and exit code 1. */
function guarded<A extends unknown[]>(name: string, fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      process.stderr.write(`seismo kafka ${name}: ${describeError(err)}\n`);
      process.exitCode = 1;
    }
  };
}

/** Registers `seismo kafka start|stop|status`: the local single-node Apache Kafka (src/devkafka). */
export function registerKafka(program: Command): void {
  const kafka = program
    .command('kafka')
    .description('manage the local single-node Apache Kafka (cache: $SEISMO_HOME, default ~/.cache/seismo)');

  withPortFlags(kafka.command('start'))
    .description('fetch the broker jars once, format storage, start Kafka on 127.0.0.1 and wait until it answers; reuses a running one')
    .action(
      guarded('start', async (flags: PortFlags) => {
        const b = await startBroker(brokerOptions(flags));
        printFacts([
          ['kafka', b.reused ? 'running (already started)' : 'running (started)'],
          ['bootstrap', b.bootstrap],
          ['pid', b.pid],
          ['log', b.logFile],
        ]);
      }),
    );

  withPortFlags(kafka.command('stop'))
    .description('stop the broker that `seismo kafka start` started (never any other process)')
    .action(
      guarded('stop', async (flags: PortFlags) => {
        const r = await stopBroker(brokerOptions(flags));
        printFacts(
          r.result === 'not-running'
            ? [['kafka', 'not running']]
            : [['kafka', r.result === 'killed' ? 'stopped (killed after timeout)' : 'stopped'], ['pid', r.pid ?? '-']],
        );
      }),
    );

  withPortFlags(kafka.command('status'))
    .description('print whether the local broker is running, its address, pid and log file')
    .action(
      guarded('status', async (flags: PortFlags) => {
        const s = await brokerStatus(brokerOptions(flags));
        printFacts([
          ['kafka', s.state],
          ['bootstrap', s.bootstrap],
          ['pid', s.pid ?? '-'],
          ['log', s.logFile],
        ]);
      }),
    );
}
