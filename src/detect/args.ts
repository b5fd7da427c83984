/**
 * Argument checking for baseline functions. Runs once when a query loads, so the messages are
 * written for the person who wrote the SQL: one line, naming the function and the argument.
 */

/** A constant SQL argument as the compiler hands it over. */
export type ConstArg = string | number | boolean | null;

/**
 * Reads positional and named arguments against a declared list of parameter names, so that
 * `EWMA(x, 0.3)` and `EWMA(x, alpha => 0.3)` mean the same; rejects unknown or repeated names.
 */
export class ArgReader {
  private readonly values = new Map<string, ConstArg>();

  constructor(
    private readonly fn: string,
    params: readonly string[],
    positional: readonly ConstArg[],
    named: Readonly<Record<string, ConstArg>>,
  ) {
    if (positional.length > params.length) {
      throw new Error(`${fn} takes at most ${params.length + 1} argument(s), got ${positional.length + 1}`);
    }
    positional.forEach((v, i) => this.values.set(params[i]!, v));
    for (const [rawName, v] of Object.entries(named)) {
      const name = rawName.toLowerCase();
      if (!params.includes(name)) {
        const known = params.length ? `; it accepts ${params.join(', ')}` : '; it takes none';
        throw new Error(`${fn} has no argument named '${rawName}'${known}`);
      }
      if (this.values.has(name)) throw new Error(`${fn} argument '${name}' is given twice`);
      this.values.set(name, v);
    }
  }

  /** A number within [min, max] (integer when asked), or the default when absent. */
  number(name: string, def: number | undefined, min: number, max: number, integer = false): number {
    const v = this.values.get(name);
    if (v === undefined || v === null) {
      if (def === undefined) throw new Error(`${this.fn} needs the argument '${name}'`);
      return def;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`${this.fn} argument '${name}' must be a number, got ${JSON.stringify(v)}`);
    }
    if (v < min || v > max || (integer && !Number.isInteger(v))) {
      const kind = integer ? 'an integer' : 'a number';
      throw new Error(`${this.fn} argument '${name}' must be ${kind} between ${min} and ${max}, got ${v}`);
    }
    return v;
  }

  /** A string from a fixed list (compared case-insensitively), or the default when absent. */
  choice<T extends string>(name: string, def: T | undefined, options: readonly T[]): T {
    const v = this.values.get(name);
    if (v === undefined || v === null) {
      if (def === undefined) throw new Error(`${this.fn} needs the argument '${name}' (one of ${options.map((o) => `'${o}'`).join(', ')})`);
      return def;
    }
    const found = typeof v === 'string' ? options.find((o) => o.toLowerCase() === v.toLowerCase()) : undefined;
    if (found === undefined) {
      throw new Error(`${this.fn} argument '${name}' must be one of ${options.map((o) => `'${o}'`).join(', ')}, got ${JSON.stringify(v)}`);
    }
    return found;
  }

  /**
   * The per-row EW weight from either `halflife` (rows) or `alpha` (weight in (0, 1]), never both.
   */
  ewWeight(defHalflife: number): number {
    const hasAlpha = this.values.get('alpha') !== undefined && this.values.get('alpha') !== null;
    const hasHalflife = this.values.get('halflife') !== undefined && this.values.get('halflife') !== null;
    if (hasAlpha && hasHalflife) throw new Error(`${this.fn} takes halflife or alpha, not both`);
    if (hasAlpha) return this.number('alpha', undefined, Number.MIN_VALUE, 1);
    return 1 - Math.pow(2, -1 / this.number('halflife', defHalflife, 1, 1e9));
  }

  /** A string, or the default when absent. */
  string(name: string, def: string): string {
    const v = this.values.get(name);
    if (v === undefined || v === null) return def;
    if (typeof v !== 'string') throw new Error(`${this.fn} argument '${name}' must be a string, got ${JSON.stringify(v)}`);
    return v;
  }
}

/** Reads a finite number (or null) from restored checkpoint JSON, failing loudly on anything else. */
export function num(obj: unknown, key: string): number {
  const v = (obj as Record<string, unknown> | null)?.[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`detector state: '${key}' is not a number`);
  return v;
}

/** Reads an array of finite numbers from restored checkpoint JSON. */
export function numArray(obj: unknown, key: string, length?: number): number[] {
  const v = (obj as Record<string, unknown> | null)?.[key];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw new Error(`detector state: '${key}' is not an array of numbers`);
  }
  if (length !== undefined && v.length !== length) throw new Error(`detector state: '${key}' has ${v.length} entries, expected ${length}`);
  return v as number[];
}
