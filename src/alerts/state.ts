/**
 * The alert lifecycle as plain data and one pure transition function (STYLE.md: Prometheus
 * rules). "Now" is a parameter: `at` is event time in epoch ms, so replay and live runs take the
 * same path and a restored state continues exactly where it stopped.
 *
 *   inactive ──match──▶ pending ──held ≥ for──▶ firing ──no match, keep_firing_for over──▶ resolved
 *      ▲                  │                        ▲                                        │
 *      └──no match────────┘                        └────────────── match (new instance) ────┘
 *
 * With `for` = 0 an activation goes straight to firing.
 */

/** Where one alert instance (one rule, one label set) is in its lifecycle. */
export type AlertPhase = 'inactive' | 'pending' | 'firing' | 'resolved';

/** Every phase, for validating restored state. */
export const ALERT_PHASES: readonly AlertPhase[] = ['inactive', 'pending', 'firing', 'resolved'];

/** One instance's lifecycle state. Plain JSON-serialisable data; all times are event-time epoch ms. */
export interface AlertState {
  readonly phase: AlertPhase;
  /** When the current activation began (the first matching evaluation); null when not active. */
  readonly activeSince: number | null;
  /** When the current activation started firing; this is the payload's startsAt. */
  readonly firingSince: number | null;
  /** The last evaluation whose condition matched; keep_firing_for and quiet periods count from it. */
  readonly lastActiveAt: number | null;
  /** When the last firing activation resolved; kept so resolved instances can be retained a while. */
  readonly resolvedAt: number | null;
}

/** The timing options of a rule that the transition function needs. */
export interface StepOptions {
  /** The condition must hold this long (event time) before the alert fires; 0 fires at once. */
  readonly forMs: number;
  /** A firing alert stays firing this long after its last matching evaluation. */
  readonly keepFiringForMs: number;
}

/** What a transition announces: only edges into firing or resolved are notifications. */
export type AlertTransition = 'firing' | 'resolved';

/**
 * The legal edges. step() checks every move against this table so that a bug, or a corrupted
 * restored state, fails loudly instead of silently emitting a wrong notification.
 */
export const TRANSITIONS: Readonly<Record<AlertPhase, readonly AlertPhase[]>> = {
  inactive: ['inactive', 'pending', 'firing'],
  pending: ['pending', 'firing', 'inactive'],
  firing: ['firing', 'resolved'],
  resolved: ['resolved', 'pending', 'firing'],
};

/** The state of an instance that has never matched. */
export const INACTIVE: AlertState = {
  phase: 'inactive',
  activeSince: null,
  firingSince: null,
  lastActiveAt: null,
  resolvedAt: null,
};

/** Throws when `from -> to` is not an edge of the lifecycle. */
export function assertTransition(from: AlertPhase, to: AlertPhase): void {
  const allowed = TRANSITIONS[from] as readonly AlertPhase[] | undefined;
  if (allowed === undefined) throw new Error(`alert state machine: unknown phase '${String(from)}'`);
  if (!allowed.includes(to)) throw new Error(`alert state machine: illegal transition ${from} -> ${to}`);
}

/**
 * The transition function: the previous state, whether the condition matched at event time `at`.
 * Returns the next state and the notification to send, if any. Pure: no clock, no I/O.
 */
export function step(
  prev: AlertState,
  matched: boolean,
  at: number,
  opts: StepOptions,
): { next: AlertState; transition: AlertTransition | null } {
  const next = nextState(prev, matched, at, opts);
  assertTransition(prev.phase, next.phase);
  const transition: AlertTransition | null =
    next.phase === prev.phase ? null : next.phase === 'firing' ? 'firing' : next.phase === 'resolved' ? 'resolved' : null;
  return { next, transition };
}

function nextState(prev: AlertState, matched: boolean, at: number, opts: StepOptions): AlertState {
  switch (prev.phase) {
    case 'inactive':
    case 'resolved':
      // A new activation is a new instance: fresh activeSince and, once it fires, fresh startsAt.
      if (!matched) return prev;
      return activate(prev, at, at, opts);
    case 'pending': {
      const since = required(prev.activeSince, 'pending', 'activeSince');
      if (!matched) return { ...prev, phase: 'inactive', activeSince: null };
      return activate(prev, since, at, opts);
    }
    case 'firing': {
      const last = required(prev.lastActiveAt, 'firing', 'lastActiveAt');
      required(prev.firingSince, 'firing', 'firingSince');
      if (matched) return { ...prev, lastActiveAt: Math.max(last, at) };
      // keep_firing_for counts from the last matching evaluation: a brief dip does not resolve.
      if (at - last >= opts.keepFiringForMs) return { ...prev, phase: 'resolved', activeSince: null, resolvedAt: at };
      return prev;
    }
    default:
      throw new Error(`alert state machine: unknown phase '${String((prev as { phase: unknown }).phase)}'`);
  }
}

/** A matching evaluation of an activation that began at `since`: pending, or firing once `for` has passed. */
function activate(prev: AlertState, since: number, at: number, opts: StepOptions): AlertState {
  const lastActiveAt = Math.max(prev.phase === 'pending' ? (prev.lastActiveAt ?? at) : at, at);
  if (at - since >= opts.forMs) {
    return { ...prev, phase: 'firing', activeSince: since, firingSince: at, lastActiveAt };
  }
  return { ...prev, phase: 'pending', activeSince: since, firingSince: null, lastActiveAt };
}

function required(v: number | null, phase: AlertPhase, field: string): number {
  if (v === null) throw new Error(`alert state machine: ${phase} state without ${field}`);
  return v;
}
