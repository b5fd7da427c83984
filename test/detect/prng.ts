export { prng } from '../../src/prng.js';

/** Standard normal draws (Box–Muller) from a uniform PRNG. */
export function gaussian(rnd: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}
