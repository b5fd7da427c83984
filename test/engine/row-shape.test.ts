/**
 * Generated row builders (src/engine/row-shape.ts) give exactly what the generic forms give: the
 * same keys in the same order and the same values, whatever the column names.
 */
import { describe, expect, it } from 'vitest';
import type { QueryPlan } from '../../src/lang/compile.js';
import type { Env } from '../../src/lang/expr.js';
import { projectRow, rowWithBounds, storedRow } from '../../src/engine/row-shape.js';

const plan = (names: string[]) => ({ columns: names.map((name, i) => ({ name, fn: () => (i % 2 ? `v${i}` : i) })) }) as unknown as QueryPlan;

const NAMES: string[][] = [
  [],
  ['service', 'p99_ms'],
  ['windowstart', 'n', 'windowend'],
  ['window_end', 'x', 'window_start'],
  ['a"b', "c'd", 'e\\f', 'g\nh', '${x}', '`y`', '); throw 1; ('],
  ['__proto__', 'n'],
  ['constructor', 'toString', 'hasOwnProperty', 'n', 'n'],
];

describe('row builders', () => {
  it.each(NAMES.map((n) => [n]))('match the generic forms for columns %j', (names) => {
    const p = plan(names);
    const generic: Record<string, unknown> = {};
    for (const c of p.columns) generic[c.name] = c.fn({} as Env);
    const row = projectRow(p, {} as Env);
    const entries = (o: object) => Object.entries(o);
    expect(entries(row)).toEqual(entries(generic));
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(entries(rowWithBounds(p, row, 1, 2))).toEqual(entries({ ...generic, windowstart: 1, windowend: 2 }));
    expect(entries(storedRow(p, row, 1, 2))).toEqual(entries({ window_start: 1, window_end: 2, ...generic }));
  });
});
