/**
 * The command line: argument parsing and the commands. The only module that reads process.argv.
 * Each command lives in src/commands/<name>.ts and registers itself on the program.
 */
// First: it replaces kafkajs' record decoder, which must happen before kafkajs loads.
import './ingest/kafkajs-records.js';
import { Command, CommanderError } from 'commander';
import { describeError } from './errors.js';
import { registerKafka } from './commands/kafka.js';
import { registerRun } from './commands/run.js';
import { registerReplay } from './commands/replay.js';
import { registerCheck } from './commands/check.js';
import { registerQuery } from './commands/query.js';
import { registerBacktest } from './commands/backtest.js';
import { registerExport } from './commands/export.js';

const program = new Command('seismo')
  .description('Real-time analytics and anomaly detection for Apache Kafka')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

for (const register of [registerKafka, registerRun, registerReplay, registerCheck, registerQuery, registerBacktest, registerExport]) {
  register(program);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander has already printed its one-line reason (or the help text).
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`seismo: ${describeError(err)}\n`);
    process.exitCode = 1;
  }
}
