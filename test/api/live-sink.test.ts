/**
 * LiveSink's view rows: a closed window reaches WebSocket subscribers with its bounds (also for
 * EMIT FINAL views, whose rows are otherwise not visible) and is queued for the checkpoint;
 * views nobody watches cost no copy for the hub.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { QueryPlan } from '../../src/lang/compile.js';
import { LiveSink } from '../../src/live-sink.js';
import { TestScope } from './fake-app.js';

const scope = new TestScope();
afterEach(() => scope.close());

const view = (name: string, emit: 'CHANGES' | 'FINAL', columns: string[]) =>
  ({ kind: 'view', name, emit, options: {}, columns: columns.map((c) => ({ name: c, fn: () => null })) }) as unknown as QueryPlan;

describe('LiveSink rows', () => {
  it('sends closed windows to subscribers with their bounds and queues them for the checkpoint', async () => {
    const app = await scope.start();
    const sink = new LiveSink({ hub: app.hub, alertsTopic: 'a', deadLetterTopic: 'd', now: Date.now });
    const c = await scope.connect();
    c.send({ op: 'subscribe', id: 's', view: 'latency_by_service' });
    await c.next((m) => m.op === 'snapshot');

    const window = { start: 60_000, end: 120_000 };
    let published = 0;
    const publish = app.hub.publish.bind(app.hub);
    app.hub.publish = (u) => {
      published++;
      publish(u);
    };
    // A view nobody watches: queued for the checkpoint, nothing for the hub.
    sink.row(view('unwatched', 'CHANGES', ['service', 'n']), window, { service: 'a', n: 1 }, 'a', { visible: false, closed: true });
    expect(published).toBe(0);
    // An EMIT FINAL view's closed window: its only row, with bounds, to the subscriber.
    sink.row(view('latency_by_service', 'FINAL', ['service', 'p99_ms']), window, { service: 'checkout', p99_ms: 812.5 }, 'checkout', { visible: true, closed: true });
    expect(published).toBe(1);
    const update = await c.next((m) => m.op === 'update');
    expect(update.rows).toEqual([{ service: 'checkout', p99_ms: 812.5, windowstart: 60_000, windowend: 120_000 }]);
    expect(sink.viewRows.get('unwatched')).toEqual([{ window_start: 60_000, window_end: 120_000, service: 'a', n: 1 }]);
    expect(sink.viewRows.get('latency_by_service')).toHaveLength(1);
  });
});
