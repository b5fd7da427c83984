/**
 * Session windows close even when an event lands inside a session while the group has another
 * session open (the merge path replaces the session object; it needs its own closing entry).
 * Found by test/integration/crash.test.ts: such sessions never closed, and a restore (which
 * schedules every open session) closed them, so a restarted service stored other rows.
 */
import { describe, expect, it } from 'vitest';
import { compact, ev, run, STREAM } from './helpers.js';

describe('session windows', () => {
  it('close a session that absorbed an event while an older session of its group was open', () => {
    const sql = `${STREAM}
      CREATE VIEW s5 AS SELECT k, COUNT(*) AS n FROM s WINDOW SESSION (5 SECONDS, GRACE PERIOD 30 SECONDS) GROUP BY k EMIT FINAL;`;
    // [0] and [10] are two sessions of a; the second event at 10 s lands inside the newer one
    // while the older is still open (grace 30 s); the event at 100 s closes both.
    const out = run(sql, [ev(0), ev(10), ev(10), ev(100, 'b')]);
    expect(compact(out)).toEqual(['row s5 [0,0] {"k":"a","n":1}', 'row s5 [10,10] {"k":"a","n":2}']);
  });
});
