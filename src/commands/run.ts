import type { Command } from 'commander';

/** Registers `seismo run`. */
export function registerRun(program: Command): void {
  program.command('run').description('(not yet built)').action(() => {
    process.stderr.write('seismo run: not yet built\n');
    process.exitCode = 1;
  });
}
