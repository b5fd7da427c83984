import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import type { Command } from 'commander';
import { loadProgram } from '../program.js';
import { readInputFile } from '../input-file.js';
import { replay, replayStream } from '../replay.js';
import { SeismoError } from '../errors.js';

/** Registers `seismo replay`. */
export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('run the queries offline over an NDJSON or CSV file and print what they emit as NDJSON')
    .requiredOption('-q, --queries <paths...>', 'query files or directories')
    .requiredOption('-i, --input <file>', 'NDJSON (one event object a line) or CSV with a header')
    .option('-s, --stream <name>', 'the stream the events belong to (default: the only stream)')
    .option('-o, --output <file>', 'write the output here instead of stdout')
    .action(async (opts: { queries: string[]; input: string; stream?: string; output?: string }) => {
      const loaded = loadProgram(opts.queries);
      if (!loaded.ok) {
        process.stderr.write(loaded.errors + '\n');
        process.exitCode = 1;
        return;
      }
      const stream = replayStream(loaded.program, opts.stream);
      let problems = 0;
      const report = (msg: string) => {
        if (++problems <= 20) process.stderr.write(`seismo replay: ${msg}\n`);
      };
      let badLines = 0;
      const rows = readInputFile(opts.input, (line, msg) => {
        badLines++;
        report(`line ${line}: ${msg}`);
      });
      const out: WriteStream | NodeJS.WriteStream = opts.output ? createWriteStream('', { fd: openOutput(opts.output) }) : process.stdout;
      let buf = '';
      const stats = replay(loaded.program, stream, { rows }, (r) => {
        buf += JSON.stringify(r) + '\n';
        if (buf.length > 1 << 16) {
          out.write(buf);
          buf = '';
        }
      }, report);
      out.write(buf);
      if (out !== process.stdout) await new Promise<void>((res, rej) => (out as WriteStream).end((e?: Error | null) => (e ? rej(e) : res())));
      if (problems > 20) process.stderr.write(`seismo replay: ... ${problems - 20} more problems\n`);
      process.stderr.write(
        `seismo replay: ${stats.events} events, ${stats.invalid + badLines} invalid, ${stats.late} late, ${stats.rejected} rejected\n`,
      );
      if (stats.events === 0 && rows.length > 0) throw new SeismoError('CONFIG', 'no valid events in the input');
    });
}

/** Opens the output file up front, so a bad path is one clear line (not a stream error later). */
function openOutput(path: string): number {
  try {
    return openSync(path, 'w');
  } catch (err) {
    throw new SeismoError('CONFIG', `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
