import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatTable, registerQuery, runQueryCommand } from '../../src/commands/query.js';
import { openStore } from '../../src/sinks/store.js';
import { holdDuckDbFile } from '../helpers/hold-duckdb.js';

const T0 = Date.parse('2026-11-24T10:00:00.000Z');
let dir: string;
let db: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'seismo-query-cmd-'));
  db = join(dir, 'seismo.duckdb');
  const store = await openStore(db, { log: () => undefined });
  await store.ensureViewTable('latency', [
    { name: 'service', type: 'VARCHAR' },
    { name: 'p99', type: 'DOUBLE' },
  ]);
  await store.commitCheckpoint({
    viewRows: new Map([
      ['latency', [
        { window_start: T0, window_end: T0 + 60_000, service: 'checkout', p99: 812.5 },
        { window_start: T0 + 60_000, window_end: T0 + 120_000, service: 'search', p99: 12 },
      ]],
    ]),
    alerts: [],
    state: ['{}'],
    offsets: [],
  });
  await store.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SQL = 'SELECT window_start, service, p99 FROM view_latency ORDER BY window_start';

describe('seismo query', () => {
  it('prints an aligned table from the file', async () => {
    expect(await runQueryCommand(SQL, { db })).toBe(
      [
        'window_start              service     p99',
        '------------------------  --------  -----',
        '2026-11-24T10:00:00.000Z  checkout  812.5',
        '2026-11-24T10:01:00.000Z  search       12',
        '(2 rows)',
        '',
      ].join('\n'),
    );
  });

  it('prints JSON with --json, through the command line parser', async () => {
    const program = new Command().exitOverride();
    registerQuery(program);
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    try {
      await program.parseAsync(['node', 'seismo', 'query', SQL, '--db', db, '--json']);
    } finally {
      spy.mockRestore();
    }
    expect(JSON.parse(out.join(''))).toEqual({
      columns: [
        { name: 'window_start', type: 'TIMESTAMP' },
        { name: 'service', type: 'VARCHAR' },
        { name: 'p99', type: 'DOUBLE' },
      ],
      rows: [
        ['2026-11-24T10:00:00.000Z', 'checkout', 812.5],
        ['2026-11-24T10:01:00.000Z', 'search', 12],
      ],
    });
  });

  it('refuses a write with the sandbox message', async () => {
    await expect(runQueryCommand('DROP TABLE view_latency', { db })).rejects.toThrow(/only SELECT.*not DROP/);
  });

  it('formats NULLs, nested values, newlines and truncation on one line each', () => {
    const text = formatTable({
      columns: [{ name: 'a', type: 'VARCHAR' }, { name: 'b', type: 'JSON' }],
      rows: [['x\ny', { k: 1 }], [null, [1, 2]]],
      truncated: true,
    });
    expect(text).toBe(['a     b', '----  -------', 'x\\ny  {"k":1}', 'NULL  [1,2]', '(2 rows, truncated at the row limit)', ''].join('\n'));
  });

  describe('through a service', () => {
    let server: Server;
    let url: string;
    const seen: { auth?: string; body: string }[] = [];

    beforeAll(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          seen.push({ auth: req.headers.authorization, body });
          res.setHeader('content-type', 'application/json');
          if (req.headers.authorization !== 'Bearer s3cret') {
            res.writeHead(401).end(JSON.stringify({ error: 'missing or wrong token' }));
          } else if (JSON.parse(body).sql.startsWith('DROP')) {
            res.writeHead(400).end(JSON.stringify({ error: 'only SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE and EXPLAIN are allowed, not DROP' }));
          } else {
            res.writeHead(200).end(JSON.stringify({ columns: [{ name: 'n', type: 'BIGINT' }], rows: [[1]] }));
          }
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('posts the query with the bearer token', async () => {
      expect(await runQueryCommand('SELECT 1 AS n', { url, token: 's3cret', json: true })).toBe('{"columns":[{"name":"n","type":"BIGINT"}],"rows":[[1]]}\n');
      expect(seen.at(-1)).toEqual({ auth: 'Bearer s3cret', body: '{"sql":"SELECT 1 AS n"}' });
    });

    it("reports the service's refusal in one line", async () => {
      await expect(runQueryCommand('DROP TABLE x', { url, token: 's3cret' })).rejects.toThrow(/^only SELECT.*not DROP$/);
      await expect(runQueryCommand('SELECT 1', { url })).rejects.toThrow(/refused the token \(missing or wrong token\); set SEISMO_TOKEN/);
    });

    it('says so when no service answers at an explicit --url', async () => {
      const dead = await new Promise<string>((resolve) => {
        const s = createServer().listen(0, '127.0.0.1', () => {
          const port = (s.address() as AddressInfo).port;
          s.close(() => resolve(`http://127.0.0.1:${port}`));
        });
      });
      await expect(runQueryCommand('SELECT 1', { url: dead })).rejects.toThrow(`no seismo service answers at ${dead}`);
    });
  });

  describe('while another process holds the file', () => {
    let holder: ChildProcess;

    beforeAll(async () => {
      holder = await holdDuckDbFile(db);
    });
    afterAll(() => {
      holder.kill();
    });

    it('points at --url in one line', async () => {
      await expect(runQueryCommand('SELECT 1', { db })).rejects.toThrow(
        new RegExp(`^${db.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is in use by another process \\(PID ${holder.pid}\\), probably a running seismo service; query it through the service with --url$`),
      );
    });
  });
});
