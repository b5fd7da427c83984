/**
 * One tracker per CREATE ALERT rule: an alert instance per label fingerprint (one per group), each
 * stepped through the lifecycle of state.ts, with flapping control and the payloads to emit.
 * Pure like the rest of the core: event time comes in with every call.
 */
import type { Value, WindowBounds } from '../types.js';
import { DEFAULT_FLAPPING, NOT_FLAPPING, recordEvaluation, type FlapState, type FlappingOptions } from './flapping.js';
import { fingerprint, isoTime, renderTemplate, type AlertPayload } from './payload.js';
import { ALERT_PHASES, INACTIVE, step, type AlertState, type AlertTransition, type StepOptions } from './state.js';

/** How long a resolved instance is kept (Prometheus: 15 minutes), so a quick re-fire keeps its flapping history. */
export const RESOLVED_RETENTION_MS = 15 * 60_000;

/** Default quiet period after which a per-event alert resolves without a further match. */
export const DEFAULT_QUIET_PERIOD_MS = 5 * 60_000;

export { DEFAULT_FLAPPING };

/** A compiled CREATE ALERT rule, as far as alerting is concerned. Durations in ms. */
export interface AlertRule {
  name: string;
  forMs: number;
  keepFiringForMs: number;
  severity: string | null;
  summary: string | null;
  description: string | null;
  labels: Record<string, string>;
  /**
   * tick() resolves a firing instance (and drops a pending one) that has not matched for this
   * long. Per-event rules need it (default 5 minutes): nothing else tells them an incident is
   * over. For windowed rules 0 disables it, or set it to a few window advances as a safety net
   * for groups that stop producing rows. Per-event rules also ignore non-matching events until
   * this long has passed since the last match.
   */
  quietPeriodMs: number;
  flapping: FlappingOptions;
  perEvent: boolean;
  /** How long resolved instances are kept; default RESOLVED_RETENTION_MS. */
  resolvedRetentionMs?: number;
}

/**
 * A rule with the defaults filled in: for 0, keep_firing_for 0, no severity, templates or extra
 * labels, DEFAULT_QUIET_PERIOD_MS for per-event rules (0 for windowed ones), DEFAULT_FLAPPING.
 */
export function alertRule(r: Partial<AlertRule> & { name: string }): AlertRule {
  const perEvent = r.perEvent ?? false;
  return {
    forMs: 0,
    keepFiringForMs: 0,
    severity: null,
    summary: null,
    description: null,
    labels: {},
    quietPeriodMs: perEvent ? DEFAULT_QUIET_PERIOD_MS : 0,
    flapping: DEFAULT_FLAPPING,
    ...r,
    perEvent,
  };
}

/** One evaluation of one group: its group columns, whether HAVING matched, and the selected values. */
export interface Evaluation {
  /** Group column values, already as label strings (see labelValue in payload.ts). */
  groupLabels: Record<string, string>;
  matched: boolean;
  values: Record<string, Value>;
  /** Event time of the evaluation, epoch ms (for windowed rules, typically the window end). */
  at: number;
  window: WindowBounds | null;
}

interface Instance {
  groupLabels: Record<string, string>;
  labels: Record<string, string>;
  fingerprint: string;
  state: AlertState;
  flap: FlapState;
  /** What consumers were last told; the next notification must follow from it. */
  lastSent: { status: 'firing' | 'resolved'; startsAt: number } | null;
  /** Values and window of the last matching evaluation (a resolution repeats them, as Prometheus does). */
  values: Record<string, Value>;
  window: WindowBounds | null;
  lastEvaluatedAt: number;
}

/** Tracks every instance of one rule. */
export class AlertTracker {
  private readonly instances = new Map<string, Instance>();
  /** The same instances by groupKey(groupLabels). */
  private readonly byGroup = new Map<string, Instance>();
  private readonly evalOpts: StepOptions;
  private readonly quietOpts: StepOptions;
  private readonly retentionMs: number;

  constructor(readonly rule: AlertRule) {
    const bad = validateRule(rule);
    if (bad !== null) throw new Error(`alert ${rule.name}: ${bad}`);
    const quietKeep = Math.max(rule.keepFiringForMs, rule.quietPeriodMs);
    this.evalOpts = { forMs: rule.forMs, keepFiringForMs: rule.perEvent ? quietKeep : rule.keepFiringForMs };
    this.quietOpts = { forMs: rule.forMs, keepFiringForMs: quietKeep };
    this.retentionMs = rule.resolvedRetentionMs ?? RESOLVED_RETENTION_MS;
  }

  /** Evaluate one group at event time `at`; returns the alert payloads to emit (0, 1 or more). */
  evaluate(e: Evaluation): AlertPayload[] {
    // Per-event rules come here for every event: find the instance by a cheap key first and
    // build labels and fingerprint only for a new one.
    const key = groupKey(e.groupLabels);
    let inst = this.byGroup.get(key);
    // A stale entry (the same labels reached under another key order, then expired) is a miss.
    if (inst !== undefined && this.instances.get(inst.fingerprint) !== inst) inst = undefined;
    if (inst === undefined) {
      // A group that does not match, with no instance at all to resolve: nothing to do, and no
      // labels or fingerprint to build (the common case of a quiet rule).
      if (!e.matched && this.instances.size === 0) return [];
      const labels = buildLabels(this.rule, e.groupLabels);
      const fp = fingerprint(labels);
      inst = this.instances.get(fp);
      if (inst === undefined) {
        if (!e.matched) return [];
        inst = newInstance(fp, e.groupLabels, labels);
        this.instances.set(fp, inst);
      }
      this.byGroup.set(key, inst);
    }
    inst.lastEvaluatedAt = e.at;
    const { next, transition } = step(inst.state, e.matched, e.at, this.evalOpts);
    inst.state = next;
    if (e.matched) {
      inst.values = e.values;
      inst.window = e.window;
    }
    const out = this.afterStep(inst, transition, e.at, true);
    return out.concat(this.expire(inst, e.at));
  }

  /** Advance event time without a row for some groups: resolves instances quiet for quietPeriodMs and drops expired ones. */
  tick(at: number): AlertPayload[] {
    const out: AlertPayload[] = [];
    for (const inst of [...this.instances.values()]) {
      const { phase, lastActiveAt } = inst.state;
      const quiet = this.rule.quietPeriodMs;
      if (quiet > 0 && (phase === 'firing' || phase === 'pending') && lastActiveAt !== null && at - lastActiveAt >= quiet) {
        const { next, transition } = step(inst.state, false, at, this.quietOpts);
        inst.state = next;
        out.push(...this.afterStep(inst, transition, at, false));
      }
      out.push(...this.expire(inst, at));
    }
    return out;
  }

  /** Firing instances (for GET /api/alerts); status `flapping` while their notifications are held back. */
  active(): AlertPayload[] {
    const out: AlertPayload[] = [];
    for (const inst of this.instances.values()) {
      if (inst.state.phase !== 'firing') continue;
      const startsAt = inst.lastSent?.status === 'firing' ? inst.lastSent.startsAt : (inst.state.firingSince ?? 0);
      out.push(this.payload(inst, inst.flap.flapping ? 'flapping' : 'firing', startsAt, null, inst.lastEvaluatedAt));
    }
    return out;
  }

  /** JSON-serialisable state for checkpoints. */
  toJSON(): unknown {
    return {
      version: 1,
      instances: [...this.instances.values()].map((i) => ({
        groupLabels: i.groupLabels,
        state: i.state,
        flap: i.flap,
        lastSent: i.lastSent,
        values: i.values,
        window: i.window,
        lastEvaluatedAt: i.lastEvaluatedAt,
      })),
    };
  }

  /** Rebuilds a tracker from toJSON() output; labels and fingerprints are recomputed from the current rule. */
  static restore(rule: AlertRule, json: unknown): AlertTracker {
    const t = new AlertTracker(rule);
    const fail = (why: string): never => {
      throw new Error(`alert ${rule.name}: cannot restore checkpoint: ${why}`);
    };
    if (!isObject(json) || json.version !== 1 || !Array.isArray(json.instances)) fail('unknown format');
    for (const raw of (json as { instances: unknown[] }).instances) {
      const inst = parseInstance(raw);
      if (typeof inst === 'string') return fail(inst);
      const labels = buildLabels(rule, inst.groupLabels);
      const fp = fingerprint(labels);
      const restored = { ...inst, labels, fingerprint: fp };
      t.instances.set(fp, restored);
      t.byGroup.set(groupKey(inst.groupLabels), restored);
    }
    return t;
  }

  /** Records the evaluation for flapping and turns the transition into what consumers should hear. */
  private afterStep(inst: Instance, transition: AlertTransition | null, at: number, record: boolean): AlertPayload[] {
    // tick() is not an evaluation of the group; it counts only when it changes something.
    if (!record && transition === null) return [];
    const { next, event } = recordEvaluation(inst.flap, transition !== null, at, this.rule.flapping);
    inst.flap = next;
    if (event === 'enter') return [this.payload(inst, 'flapping', next.since ?? at, null, at)];
    if (next.flapping) return [];
    if (event === 'leave') return this.settle(inst, at);
    if (transition === 'firing') return [this.sendFiring(inst, at)];
    if (transition === 'resolved' && inst.lastSent?.status === 'firing') return [this.sendResolved(inst, at)];
    return [];
  }

  /** After flapping: tell consumers the current state if it differs from what they last heard. */
  private settle(inst: Instance, at: number): AlertPayload[] {
    const firing = inst.state.phase === 'firing';
    const told = inst.lastSent?.status ?? 'resolved';
    if (firing && told !== 'firing') return [this.sendFiring(inst, at)];
    if (!firing && told === 'firing') return [this.sendResolved(inst, at)];
    return [];
  }

  private sendFiring(inst: Instance, at: number): AlertPayload {
    const startsAt = inst.state.firingSince ?? at;
    inst.lastSent = { status: 'firing', startsAt };
    return this.payload(inst, 'firing', startsAt, null, at);
  }

  private sendResolved(inst: Instance, at: number): AlertPayload {
    // The resolution repeats the startsAt consumers were told, so it pairs with that firing.
    const startsAt = inst.lastSent?.startsAt ?? inst.state.firingSince ?? at;
    inst.lastSent = { status: 'resolved', startsAt };
    return this.payload(inst, 'resolved', startsAt, inst.state.resolvedAt ?? at, at);
  }

  /** Drops an instance that is over and past retention; if flapping held back its resolution, sends it now. */
  private expire(inst: Instance, at: number): AlertPayload[] {
    const { phase, resolvedAt } = inst.state;
    if (phase === 'firing' || phase === 'pending') return [];
    if (resolvedAt !== null && at - resolvedAt <= this.retentionMs) return [];
    this.instances.delete(inst.fingerprint);
    this.byGroup.delete(groupKey(inst.groupLabels));
    if (inst.lastSent?.status !== 'firing') return [];
    return [this.sendResolved(inst, at)];
  }

  private payload(
    inst: Instance,
    status: AlertPayload['status'],
    startsAt: number,
    endsAt: number | null,
    at: number,
  ): AlertPayload {
    const scope: Record<string, Value> = { ...inst.groupLabels, ...inst.values };
    const annotations: Record<string, string> = {};
    if (this.rule.summary !== null) annotations.summary = renderTemplate(this.rule.summary, scope);
    if (this.rule.description !== null) annotations.description = renderTemplate(this.rule.description, scope);
    return {
      fingerprint: inst.fingerprint,
      status,
      labels: { ...inst.labels },
      annotations,
      startsAt: isoTime(startsAt),
      endsAt: endsAt === null ? null : isoTime(endsAt),
      values: { ...inst.values },
      window: inst.window === null ? null : { start: isoTime(inst.window.start), end: isoTime(inst.window.end) },
      emittedAt: isoTime(at),
    };
  }
}

/**
 * An instance's labels: group columns, overridden by the rule's extra labels, then `severity`,
 * then `alertname` (Prometheus: rule labels win over series labels). alertname comes first.
 */
export function buildLabels(rule: AlertRule, groupLabels: Record<string, string>): Record<string, string> {
  const merged: Record<string, string> = { ...groupLabels, ...rule.labels };
  if (rule.severity !== null) merged.severity = rule.severity;
  delete merged.alertname;
  return { alertname: rule.name, ...merged };
}

/** A map key for a group: names and values joined with control characters real labels do not contain. */
function groupKey(groupLabels: Record<string, string>): string {
  let k = '';
  for (const name in groupLabels) k += `${name}\u0000${groupLabels[name]}\u0001`;
  return k;
}

function newInstance(fp: string, groupLabels: Record<string, string>, labels: Record<string, string>): Instance {
  return {
    groupLabels: { ...groupLabels },
    labels,
    fingerprint: fp,
    state: INACTIVE,
    flap: NOT_FLAPPING,
    lastSent: null,
    values: {},
    window: null,
    lastEvaluatedAt: 0,
  };
}

function validateRule(r: AlertRule): string | null {
  const durations: [string, number][] = [
    ['for', r.forMs],
    ['keep_firing_for', r.keepFiringForMs],
    ['quiet period', r.quietPeriodMs],
    ['resolved retention', r.resolvedRetentionMs ?? 0],
  ];
  for (const [name, v] of durations) {
    if (!Number.isFinite(v) || v < 0) return `${name} must be a duration >= 0, got ${v}`;
  }
  const { maxChanges, window } = r.flapping;
  if (!Number.isInteger(window) || window < 1) return `flapping window must be an integer >= 1, got ${window}`;
  if (!Number.isInteger(maxChanges) || maxChanges < 1) return `flapping max changes must be an integer >= 1, got ${maxChanges}`;
  return null;
}

type Restored = Omit<Instance, 'labels' | 'fingerprint'>;

/** Validates one checkpointed instance; returns it or the reason it is unusable. */
function parseInstance(raw: unknown): Restored | string {
  if (!isObject(raw)) return 'instance is not an object';
  const { groupLabels, state, flap, lastSent, values, window, lastEvaluatedAt } = raw;
  if (!isStringRecord(groupLabels)) return 'groupLabels must map names to strings';
  if (!isObject(state) || !ALERT_PHASES.includes(state.phase as AlertState['phase'])) return 'bad state phase';
  for (const k of ['activeSince', 'firingSince', 'lastActiveAt', 'resolvedAt'] as const) {
    if (!isNullableNumber(state[k])) return `state.${k} must be a number or null`;
  }
  if (!isObject(flap) || typeof flap.flapping !== 'boolean' || !isNullableNumber(flap.since)) return 'bad flap state';
  if (!Array.isArray(flap.recent) || !flap.recent.every((x) => x === 0 || x === 1)) return 'bad flap history';
  if (lastSent !== null) {
    if (!isObject(lastSent) || (lastSent.status !== 'firing' && lastSent.status !== 'resolved')) return 'bad lastSent';
    if (typeof lastSent.startsAt !== 'number') return 'bad lastSent.startsAt';
  }
  if (!isObject(values)) return 'values must be an object';
  if (window !== null && (!isObject(window) || typeof window.start !== 'number' || typeof window.end !== 'number')) {
    return 'bad window';
  }
  if (typeof lastEvaluatedAt !== 'number') return 'lastEvaluatedAt must be a number';
  return {
    groupLabels: { ...groupLabels },
    state: {
      phase: state.phase as AlertState['phase'],
      activeSince: state.activeSince as number | null,
      firingSince: state.firingSince as number | null,
      lastActiveAt: state.lastActiveAt as number | null,
      resolvedAt: state.resolvedAt as number | null,
    },
    flap: { recent: [...(flap.recent as number[])], flapping: flap.flapping, since: flap.since as number | null },
    lastSent: lastSent as Instance['lastSent'],
    values: values as Record<string, Value>,
    window: window as WindowBounds | null,
    lastEvaluatedAt,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNullableNumber(v: unknown): boolean {
  return v === null || typeof v === 'number';
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return isObject(v) && Object.values(v).every((x) => typeof x === 'string');
}
