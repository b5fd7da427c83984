import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { KAFKA_VERSION, newClusterId, renderPom, renderServerProperties, resolveBrokerOptions } from '../../src/devkafka/options.js';

function props(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.indexOf('=');
    m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

describe('resolveBrokerOptions', () => {
  it('derives the cache layout from home and port', () => {
    const o = resolveBrokerOptions({ home: '/tmp/sh', port: 19092 });
    expect(o.controllerPort).toBe(19093);
    expect(o.bootstrap).toBe('127.0.0.1:19092');
    expect(o.libsDir).toBe(join('/tmp/sh', `kafka-${KAFKA_VERSION}`, 'libs'));
    expect(o.dataDir).toBe('/tmp/sh/broker-19092');
    expect(o.pidFile).toBe('/tmp/sh/broker-19092/broker.pid');
    expect(o.logFile).toBe('/tmp/sh/broker-19092/broker.log');
  });

  it('keeps a second broker apart by port or data dir', () => {
    const a = resolveBrokerOptions({ home: '/h' });
    const b = resolveBrokerOptions({ home: '/h', port: 29092, controllerPort: 29999, dataDir: '/other' });
    expect(a.port).toBe(9092);
    expect(b.controllerPort).toBe(29999);
    expect(b.dataDir).toBe('/other');
    expect(b.libsDir).toBe(a.libsDir); // jars are shared, instances are not
  });

  it.each([
    [{ port: 0 }, /invalid port/],
    [{ port: 70000 }, /invalid port/],
    [{ port: 9092.5 }, /invalid port/],
    [{ port: 9092, controllerPort: 9092 }, /must differ/],
  ])('rejects %j', (opts, message) => {
    expect(() => resolveBrokerOptions({ home: '/h', ...opts })).toThrow(message);
  });
});

describe('renderServerProperties', () => {
  const p = props(renderServerProperties(resolveBrokerOptions({ home: '/h', port: 19092, controllerPort: 19099 })));
  it.each([
    ['process.roles', 'broker,controller'],
    ['controller.quorum.voters', '1@127.0.0.1:19099'],
    ['listeners', 'PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19099'],
    ['advertised.listeners', 'PLAINTEXT://127.0.0.1:19092'],
    ['offsets.topic.replication.factor', '1'],
    ['transaction.state.log.replication.factor', '1'],
    ['transaction.state.log.min.isr', '1'],
    ['min.insync.replicas', '1'],
    ['group.initial.rebalance.delay.ms', '0'],
    ['auto.create.topics.enable', 'true'],
    ['log.dirs', '/h/broker-19092/data'],
  ])('sets %s=%s', (key, value) => {
    expect(p.get(key)).toBe(value);
  });
});

describe('renderPom', () => {
  it('depends on the pinned broker artifact', () => {
    expect(renderPom()).toContain(`<artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version>`);
  });
});

describe('newClusterId', () => {
  it('is 22 base64url characters and never starts with a dash', () => {
    let calls = 0;
    // First draw encodes to a leading '-' (0xf8 -> '-' in base64url), which must be rejected.
    const id = newClusterId((n) => (calls++ === 0 ? new Uint8Array(n).fill(0xf8) : new Uint8Array(n).fill(7)));
    expect(calls).toBe(2);
    expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});
