import type { Command } from 'commander';

/** Registers `seismo kafka`. */
export function registerKafka(program: Command): void {
  program.command('kafka').description('(not yet built)').action(() => {
    process.stderr.write('seismo kafka: not yet built\n');
    process.exitCode = 1;
  });
}
