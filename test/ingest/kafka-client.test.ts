import { describe, expect, it } from 'vitest';
import { checkSasl, parseBrokers } from '../../src/ingest/kafka-client.js';
import { checkBrokers } from '../../src/ingest/kafka-source.js';
import { testBrokers } from './harness.js';

describe('parseBrokers', () => {
  it.each([
    ['127.0.0.1:9092', ['127.0.0.1:9092']],
    [' a:1 , b.example.com:9093 ', ['a:1', 'b.example.com:9093']],
    ['[::1]:9092', ['[::1]:9092']],
  ])('%j', (input, want) => expect(parseBrokers(input)).toEqual(want));

  it.each([
    ['', 'no Kafka brokers given (--brokers host:port[,host:port])'],
    ['localhost', 'invalid broker address "localhost": expected host:port'],
    ['a:0', 'invalid broker address "a:0": expected host:port'],
    ['a:99999', 'invalid broker address "a:99999": expected host:port'],
    ['a:9092,http://b:9092', 'invalid broker address "http://b:9092": expected host:port'],
  ])('rejects %j', (input, message) => expect(() => parseBrokers(input)).toThrow(message));
});

describe('checkSasl', () => {
  it('normalises the mechanism', () => {
    expect(checkSasl({ mechanism: 'SCRAM-SHA-512', username: 'u', password: 'p' })).toEqual({ mechanism: 'scram-sha-512', username: 'u', password: 'p' });
  });
  it.each([
    [{ mechanism: 'gssapi', username: 'u', password: 'p' }, 'unsupported SASL mechanism "gssapi" (use plain, scram-sha-256, scram-sha-512)'],
    [{ mechanism: 'plain', password: 'p' }, 'SASL plain needs a username and a password'],
  ])('rejects %j', (input, message) => expect(() => checkSasl(input)).toThrow(message));
});

describe('checkBrokers', () => {
  it('passes against the test broker', async () => {
    await expect(checkBrokers({ brokers: testBrokers() }, 10_000)).resolves.toBeUndefined();
  });

  it('says in one line that nothing listens on a port', async () => {
    const err = await checkBrokers({ brokers: ['127.0.0.1:9999'] }, 3000).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'KAFKA_UNREACHABLE', message: 'cannot reach Kafka at 127.0.0.1:9999: connection refused' });
  });

  it('says in one line that a host does not exist', async () => {
    const err = await checkBrokers({ brokers: ['no-such-host.invalid:9092'] }, 3000).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'KAFKA_UNREACHABLE', message: 'cannot reach Kafka at no-such-host.invalid:9092: unknown host' });
  });

  it('times out against a port that accepts but never answers', async () => {
    const net = await import('node:net');
    const server = net.createServer(() => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const err = await checkBrokers({ brokers: [`127.0.0.1:${port}`] }, 1000).then(() => null, (e: unknown) => e);
      expect(err).toMatchObject({ code: 'KAFKA_UNREACHABLE', message: `cannot reach Kafka at 127.0.0.1:${port}: no answer within 1000 ms` });
    } finally {
      server.close();
    }
  });
});
