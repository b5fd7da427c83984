/**
 * Error codes as data (STYLE.md: @platformatic/kafka). I/O throws SeismoError; validation returns
 * arrays of diagnostics instead. `retriable` tells callers whether retry() may help.
 */
export const ERROR_CODES = [
  'CONFIG',
  'QUERY_FILE',
  'KAFKA_UNREACHABLE',
  'KAFKA',
  'JAVA_MISSING',
  'MAVEN_MISSING',
  'BROKER_START',
  'STORAGE',
  'QUERY_REJECTED',
  'CAPACITY',
  'ALERTMANAGER',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class SeismoError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  constructor(code: ErrorCode, message: string, opts: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SeismoError';
    this.code = code;
    this.retriable = opts.retriable ?? false;
  }
}

export interface RetryOptions {
  retries: number;
  initialMs: number;
  maxMs: number;
  /** Called before each wait, e.g. to log. */
  onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
  /** Return false to stop retrying on this error. Defaults to SeismoError.retriable or any non-SeismoError. */
  shouldRetry?: (err: unknown) => boolean;
}

/** Runs fn until it succeeds, waiting with exponential backoff and full jitter between attempts. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const shouldRetry = opts.shouldRetry ?? ((e: unknown) => !(e instanceof SeismoError) || e.retriable);
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= opts.retries || !shouldRetry(err)) throw err;
      const cap = Math.min(opts.maxMs, opts.initialMs * 2 ** attempt);
      const waitMs = Math.round(cap / 2 + (Math.random() * cap) / 2);
      opts.onRetry?.(err, attempt + 1, waitMs);
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
}

/** A message fit for one line of output: the error's own message, never a stack. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? String(err);
  return String(err);
}
