import type { Command } from 'commander';

/** Registers `seismo check`. */
export function registerCheck(program: Command): void {
  program.command('check').description('(not yet built)').action(() => {
    process.stderr.write('seismo check: not yet built\n');
    process.exitCode = 1;
  });
}
