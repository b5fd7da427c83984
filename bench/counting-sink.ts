/**
 * The engine sink of the benchmarks that feed an Engine directly: counts rows, discards the rest,
 * and throws on a rejected row or a rule error, so a benchmark never silently measures an engine
 * that dropped its input.
 */
import type { EngineSink } from '../src/engine/sink.js';

export function countingSink(): EngineSink & { rows: number } {
  return {
    rows: 0,
    row() {
      this.rows++;
    },
    retract() {},
    alert() {},
    late() {},
    rejected(plan, reason) {
      throw new Error(`${plan.name}: row rejected (${reason})`);
    },
    ruleError(plan, err) {
      throw new Error(`${plan.name}: ${String(err)}`);
    },
  };
}
