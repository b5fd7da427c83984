import type { Command } from 'commander';

/** Registers `seismo backtest`. */
export function registerBacktest(program: Command): void {
  program.command('backtest').description('(not yet built)').action(() => {
    process.stderr.write('seismo backtest: not yet built\n');
    process.exitCode = 1;
  });
}
