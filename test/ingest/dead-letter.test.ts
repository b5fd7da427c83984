import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deadLetterMessage } from '../../src/ingest/dead-letter.js';
import { buildSsl } from '../../src/ingest/kafka-client.js';

const src = { topic: 't', partition: 2, offset: '41' };

describe('deadLetterMessage', () => {
  it('keeps UTF-8 values as text and the original key', () => {
    const m = deadLetterMessage(src, { key: Buffer.from('k'), value: Buffer.from('{"a":') }, 'not_json', 'Unexpected end of JSON input');
    expect(m.key?.toString()).toBe('k');
    expect(JSON.parse(m.value)).toEqual({ topic: 't', partition: 2, offset: 41, reason: 'not_json', detail: 'Unexpected end of JSON input', value: '{"a":' });
  });

  it('copies the key: the record bytes it was a view of may change before the message is produced', () => {
    const record = Buffer.from('key-1{"a":');
    const m = deadLetterMessage(src, { key: record.subarray(0, 5), value: record.subarray(5) }, 'not_json', 'x');
    record.fill(0);
    expect(m.key?.toString()).toBe('key-1');
    expect(JSON.parse(m.value).value).toBe('{"a":');
  });

  it('base64-encodes values that are not UTF-8 and says so', () => {
    const raw = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const m = JSON.parse(deadLetterMessage(src, { key: null, value: raw }, 'not_json', 'value is not valid UTF-8').value);
    expect(m).toMatchObject({ encoding: 'base64', value: raw.toString('base64') });
    expect(Buffer.from(m.value, 'base64')).toEqual(raw);
  });

  it('writes a tombstone as value null', () => {
    expect(JSON.parse(deadLetterMessage(src, { key: null, value: null }, 'empty', 'x').value)).toMatchObject({ value: null, reason: 'empty' });
  });
});

describe('buildSsl', () => {
  it.each([
    [{}, undefined],
    [{ enabled: false }, undefined],
    [{ enabled: true }, true],
    [{ insecure: true }, { rejectUnauthorized: false }],
  ])('%j -> %j', (input, want) => expect(buildSsl(input)).toEqual(want));

  it('reads PEM files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'seismo-tls-'));
    await writeFile(join(dir, 'ca.pem'), 'CA');
    expect(buildSsl({ caFile: join(dir, 'ca.pem') })).toEqual({ ca: ['CA'] });
  });

  it('names an unreadable file in one line', () => {
    expect(() => buildSsl({ caFile: '/nonexistent/ca.pem' })).toThrow('cannot read TLS CA file /nonexistent/ca.pem: ENOENT');
  });
});
