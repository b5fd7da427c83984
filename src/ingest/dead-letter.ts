/**
 * The dead-letter record format (SPEC section 4): a JSON object naming where the bad record came
 * from and why it was refused, keyed by the original record key so per-key order is kept.
 */
import { isUtf8 } from 'node:buffer';
import type { DecodeReason } from './decode.js';

/** The JSON value written to the dead-letter topic. */
export interface DeadLetter {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly reason: DecodeReason;
  /** One line saying what exactly was wrong (not in SPEC's minimum; helps whoever reads the DLQ). */
  readonly detail: string;
  /** The original value as text, base64 when it was not UTF-8, null for a tombstone. */
  readonly value: string | null;
  /** Present (and "base64") only when value is base64. */
  readonly encoding?: 'base64';
}

/** A message ready for the producer. */
export interface DeadLetterMessage {
  readonly key: Buffer | null;
  readonly value: string;
}

/** Builds the dead-letter message for one refused record. */
export function deadLetterMessage(
  source: { topic: string; partition: number; offset: string },
  record: { key: Buffer | null; value: Buffer | null },
  reason: DecodeReason,
  detail: string,
): DeadLetterMessage {
  const raw = record.value;
  const utf8 = raw === null || isUtf8(raw);
  const letter: DeadLetter = {
    topic: source.topic,
    partition: source.partition,
    offset: Number(source.offset),
    reason,
    detail,
    value: raw === null ? null : utf8 ? raw.toString('utf8') : raw.toString('base64'),
    ...(utf8 ? {} : { encoding: 'base64' as const }),
  };
  // A copy: the key is a view of a whole fetch's (or chunk's) bytes, which the message would keep
  // alive until the producer sends it, and which a buffer pool could reuse before then.
  return { key: record.key === null ? null : Buffer.from(record.key), value: JSON.stringify(letter) };
}

/** Default dead-letter topic. */
export const DEFAULT_DLQ_TOPIC = 'seismo.dlq';
