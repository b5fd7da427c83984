import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '../../bin/seismo.js');

/** Runs the built CLI (npm test builds first) and returns its exit code and stderr lines. */
function seismo(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, SEISMO_KAFKA_BROKERS: '', ...env },
  });
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  return { code: r.status, lines, stdout: r.stdout };
}

describe('seismo run refuses bad configuration with one clear line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seismo-run-'));
  const queries = join(dir, 'q.sql');
  writeFileSync(queries, "CREATE STREAM s (t BIGINT) WITH (kafka_topic = 's', timestamp = 't');\n");
  const cases: [string, string[], RegExp][] = [
    ['an unknown flag', ['run', '--bogus'], /unknown option '--bogus'/],
    ['no brokers', ['run', '--queries', queries], /no Kafka brokers/],
    ['a bad duration', ['run', '--brokers', '127.0.0.1:9092', '--checkpoint-interval', '5x'], /invalid duration "5x"/],
    ['a bad broker address', ['run', '--brokers', 'nohost'], /invalid broker address "nohost"/],
    ['an unreadable query file', ['run', '--brokers', '127.0.0.1:9092', '--queries', join(dir, 'missing.sql')], /cannot read query path/],
    ['an unreachable broker', ['run', '--brokers', '127.0.0.1:1', '--queries', queries, '--port', '0'], /cannot reach Kafka at 127\.0\.0\.1:1/],
  ];
  it.each(cases)('%s', (_name, args, message) => {
    const r = seismo(args);
    expect(r.code).not.toBe(0);
    expect(r.lines.join('\n')).toMatch(message);
    expect(r.lines.filter((l) => !/^\(run with --help/.test(l))).toHaveLength(1);
    expect(r.lines.join('\n')).not.toMatch(/\n\s+at /);
  });

  it('a port in use: one line, and nothing left running', async () => {
    const { createServer } = await import('node:net');
    const { brokers } = await import('../helpers/kafka.js');
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = seismo(['run', '--brokers', brokers().join(','), '--queries', queries, '--db', join(dir, 'port.duckdb'), '--port', String(port)]);
      expect(r.code).toBe(1);
      expect(r.lines.filter((l) => !l.startsWith('{'))).toEqual([`seismo: cannot listen on 127.0.0.1:${port}: the address is in use (choose another --port)`]);
    } finally {
      blocker.close();
    }
  });

  it('reports query errors as file:line:col with a caret', () => {
    const bad = join(dir, 'bad.sql');
    writeFileSync(bad, "CREATE STREAM s (t BIGINT) WITH (kafka_topic = 's', timestamp = 't');\nCREATE VIEW v AS SELECT nope FROM s;\n");
    const r = seismo(['check', bad]);
    expect(r.code).toBe(1);
    expect(r.lines[0]).toMatch(/bad\.sql:2:25: unknown column 'nope'/);
    expect(r.lines.some((l) => /^\s*\^$/.test(l))).toBe(true);
  });
});
