/**
 * Dashboard definitions: the JSON files in dashboards/ (format in docs/dashboards.md). They are
 * read on every GET /api/dashboards so that editing a file only needs a page reload. A file with
 * mistakes is still returned, with its errors, so the page can show them next to the dashboard
 * instead of the whole page failing.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Panel types the page can draw. */
export const PANEL_TYPES = ['timeseries', 'bar', 'table', 'stat'] as const;
/** What a panel shows: */
export type PanelType = (typeof PANEL_TYPES)[number];

/** One dashboard as served by GET /api/dashboards. Panels are passed through as written after validation. */
export interface Dashboard {
  /** File name without `.json`; stable anchor for the page. */
  id: string;
  title: string;
  panels: Record<string, unknown>[];
  /** Mistakes found in the file, one line each; empty when the file is fine. */
  errors: string[];
}

const SOURCES = ['view', 'engine'];
const FORMATS = ['number', 'percent', 'ms', 'seconds', 'bytes'];
const REDUCERS = ['sum', 'avg', 'max', 'min', 'last'];

/** Reads every `*.json` in dir, by "order" then file name. A missing directory means no dashboards. */
export async function loadDashboards(dir: string): Promise<Dashboard[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const loaded = await Promise.all(
    names.map(async (name): Promise<[number, Dashboard]> => {
      const id = name.slice(0, -'.json'.length);
      let parsed: unknown;
      try {
        parsed = JSON.parse(await readFile(join(dir, name), 'utf8'));
      } catch (err) {
        return [Infinity, { id, title: id, panels: [], errors: [`${name}: ${(err as Error).message}`] }];
      }
      const order = isObject(parsed) && typeof parsed['order'] === 'number' ? parsed['order'] : Infinity;
      return [order, validateDashboard(id, name, parsed)];
    }),
  );
  // "order" puts dashboards first; the rest follow by file name (the sort is stable).
  return loaded.sort((a, b) => (a[0] === b[0] ? 0 : a[0] < b[0] ? -1 : 1)).map(([, d]) => d);
}

/** Checks one parsed dashboard file; returns it with the list of its mistakes. */
export function validateDashboard(id: string, file: string, raw: unknown): Dashboard {
  const errors: string[] = [];
  if (!isObject(raw)) return { id, title: id, panels: [], errors: [`${file}: expected an object with "title" and "panels"`] };
  const title = typeof raw['title'] === 'string' ? raw['title'] : id;
  if (typeof raw['title'] !== 'string') errors.push(`${file}: "title" must be a string`);
  if (raw['order'] !== undefined && typeof raw['order'] !== 'number') errors.push(`${file}: "order" must be a number`);
  const rawPanels = raw['panels'];
  if (!Array.isArray(rawPanels)) {
    errors.push(`${file}: "panels" must be an array`);
    return { id, title, panels: [], errors };
  }
  const panels: Record<string, unknown>[] = [];
  rawPanels.forEach((p: unknown, i) => {
    const at = `${file}: panels[${i}]`;
    const problems = validatePanel(p);
    if (problems.length > 0) errors.push(...problems.map((m) => `${at}: ${m}`));
    else panels.push(p as Record<string, unknown>);
  });
  return { id, title, panels, errors };
}

/** The mistakes in one panel definition, or an empty list. */
export function validatePanel(p: unknown): string[] {
  if (!isObject(p)) return ['must be an object'];
  const errs: string[] = [];
  const type = p['type'];
  if (typeof type !== 'string' || !(PANEL_TYPES as readonly string[]).includes(type)) {
    errs.push(`"type" must be one of ${PANEL_TYPES.join(', ')}`);
  }
  const source = p['source'] ?? 'view';
  if (typeof source !== 'string' || !SOURCES.includes(source)) errs.push(`"source" must be one of ${SOURCES.join(', ')}`);
  if (source === 'view' && (typeof p['view'] !== 'string' || p['view'] === '')) errs.push('"view" must name a live view');
  if (p['title'] !== undefined && typeof p['title'] !== 'string') errs.push('"title" must be a string');
  const y = p['y'];
  const yOk = typeof y === 'string' || (Array.isArray(y) && y.length > 0 && y.every((c) => typeof c === 'string'));
  if (type !== 'table' && !yOk) errs.push('"y" must be a column name or a non-empty list of column names');
  if (y !== undefined && !yOk) errs.push('"y" must be a column name or a list of column names');
  for (const key of ['x', 'groupBy', 'sort', 'unit']) {
    if (p[key] !== undefined && typeof p[key] !== 'string') errs.push(`"${key}" must be a string`);
  }
  const columns = p['columns'];
  if (columns !== undefined && !(Array.isArray(columns) && columns.every((c) => typeof c === 'string'))) {
    errs.push('"columns" must be a list of column names');
  }
  const where = p['where'];
  if (where !== undefined) {
    if (!isObject(where)) errs.push('"where" must be an object of column: value');
    else if (Object.values(where).some((v) => v !== null && typeof v === 'object')) errs.push('"where" values must be strings, numbers, booleans or null');
  }
  if (p['format'] !== undefined && !FORMATS.includes(p['format'] as string)) errs.push(`"format" must be one of ${FORMATS.join(', ')}`);
  if (p['reduce'] !== undefined && !REDUCERS.includes(p['reduce'] as string)) errs.push(`"reduce" must be one of ${REDUCERS.join(', ')}`);
  for (const key of ['width', 'decimals', 'limit', 'rangeMinutes', 'height']) {
    const v = p[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) errs.push(`"${key}" must be a non-negative number`);
  }
  const history = p['history'];
  if (history !== undefined && typeof history !== 'boolean' && !(isObject(history) && (history['sql'] === undefined || typeof history['sql'] === 'string'))) {
    errs.push('"history" must be true, false or {"sql": "...", "limit": n}');
  }
  const thresholds = p['thresholds'];
  if (thresholds !== undefined && !(isObject(thresholds) && Object.values(thresholds).every((v) => typeof v === 'number'))) {
    errs.push('"thresholds" must be {"warn": number, "crit": number}');
  }
  return errs;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
