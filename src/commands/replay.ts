import type { Command } from 'commander';

/** Registers `seismo replay`. */
export function registerReplay(program: Command): void {
  program.command('replay').description('(not yet built)').action(() => {
    process.stderr.write('seismo replay: not yet built\n');
    process.exitCode = 1;
  });
}
