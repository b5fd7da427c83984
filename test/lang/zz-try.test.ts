import { test } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse } from '../../src/lang/parser.js';
import { check } from '../../src/lang/check.js';
const STREAM = "CREATE STREAM metrics (event_id VARCHAR, event_time TIMESTAMP, name VARCHAR, source VARCHAR, value DOUBLE, labels MAP<VARCHAR, VARCHAR>) WITH (kafka_topic = 'm');\n";
test('try', () => {
  for (const line of readFileSync('/tmp/ccases.txt', 'utf8').trim().split('\n')) {
    const [name, sql] = line.split('|') as [string, string];
    const text = STREAM + `CREATE VIEW v AS ${sql};`;
    const { diagnostics } = check([parse('q.sql', text)]);
    console.log(`${name} => ${diagnostics.map((d) => `${d.pos.line}:${d.pos.col}: ${d.message}`).join(' | ') || 'OK'}`);
  }
});
