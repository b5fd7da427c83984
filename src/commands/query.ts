import type { Command } from 'commander';

/** Registers `seismo query`. */
export function registerQuery(program: Command): void {
  program.command('query').description('(not yet built)').action(() => {
    process.stderr.write('seismo query: not yet built\n');
    process.exitCode = 1;
  });
}
