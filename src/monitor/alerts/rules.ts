import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { isMap } from 'yaml';
import { parseDuration } from '../../duration.js';
import { errors } from '../../errors.js';
import { type Path, parseYaml, YamlChecker } from '../../yaml-file.js';

/** What a rule can watch. */
export const METRICS = ['drift_share', 'drift_score', 'accuracy', 'p95_latency_ms', 'error_rate'] as const;
export type AlertMetric = (typeof METRICS)[number];

export const OPERATORS = ['>', '>=', '<', '<='] as const;
export type AlertOperator = (typeof OPERATORS)[number];

export interface AlertCondition {
  metric: AlertMetric;
  op: AlertOperator;
  value: number;
  /** The column, for `drift_score` only. */
  column?: string;
}

export type AlertAction = { webhook: string } | { log: { level: 'info' | 'warn' | 'error' } };

/** One validated rule, as stored and as listed. */
export interface AlertRule {
  name: string;
  /** The model watched; absent means every model with data. */
  model?: string;
  condition: AlertCondition;
  /** As written (`5m`) and in ms: the sliding window of latency and error rate. */
  window: string;
  window_ms: number;
  /** As written (`2m`) and in ms: how long the condition must hold before the rule fires. */
  for: string;
  for_ms: number;
  actions: AlertAction[];
  description?: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const LEVELS = ['info', 'warn', 'error'] as const;
export const DEFAULT_WINDOW = '5m';

/** True when `value op threshold`. */
export function holds(op: AlertOperator, value: number, threshold: number): boolean {
  if (op === '>') return value > threshold;
  if (op === '>=') return value >= threshold;
  if (op === '<') return value < threshold;
  return value <= threshold;
}

/** Walks the parsed rules, reporting the first problem as `file:line: field: message`. */
class Checker extends YamlChecker {
  duration(value: unknown, path: Path, fallback: string): { text: string; ms: number } {
    const text = value === undefined || value === null ? fallback : String(value);
    const ms = parseDuration(text);
    if (ms === undefined) this.fail(path, `must be a number with a unit ms, s, m, h or d, or 0 (got '${text}')`);
    return { text, ms };
  }
}

function checkRule(c: Checker, raw: unknown, p: Path): AlertRule {
  const o = c.map(raw, p, ['name', 'model', 'condition', 'window', 'for', 'actions', 'description']);
  if (typeof o.name !== 'string' || !NAME.test(o.name)) {
    c.fail([...p, 'name'], o.name === undefined ? 'is required' : `must be letters, digits, _ . - (got ${JSON.stringify(o.name)})`);
  }
  const rule: Partial<AlertRule> = { name: o.name };
  if (o.model !== undefined && o.model !== null) {
    if (typeof o.model !== 'string' || o.model === '') c.fail([...p, 'model'], 'must be a model name (leave it out to watch every model)');
    rule.model = o.model;
  }
  if (o.condition === undefined) c.fail([...p, 'condition'], 'is required ({ metric, op, value })');
  const cp = [...p, 'condition'];
  const k = c.map(o.condition, cp, ['metric', 'op', 'value', 'column']);
  if (typeof k.metric !== 'string' || !(METRICS as readonly string[]).includes(k.metric)) {
    c.fail([...cp, 'metric'], `must be one of ${METRICS.join(', ')} (got ${JSON.stringify(k.metric)})`);
  }
  if (typeof k.op !== 'string' || !(OPERATORS as readonly string[]).includes(k.op)) {
    c.fail([...cp, 'op'], `must be one of ${OPERATORS.map((x) => `"${x}"`).join(', ')} (got ${JSON.stringify(k.op)})`);
  }
  if (typeof k.value !== 'number' || !Number.isFinite(k.value)) c.fail([...cp, 'value'], `must be a number (got ${JSON.stringify(k.value)})`);
  const condition: AlertCondition = { metric: k.metric as AlertMetric, op: k.op as AlertOperator, value: k.value };
  if (k.metric === 'drift_score') {
    if (typeof k.column !== 'string' || k.column === '') c.fail([...cp, 'column'], 'is required for drift_score (the column whose score is watched)');
    condition.column = k.column;
  } else if (k.column !== undefined) {
    c.fail([...cp, 'column'], `only applies to drift_score (metric is ${k.metric})`);
  }
  rule.condition = condition;
  const window = c.duration(o.window, [...p, 'window'], DEFAULT_WINDOW);
  if (window.ms <= 0) c.fail([...p, 'window'], 'must be longer than 0');
  const hold = c.duration(o.for, [...p, 'for'], '0');
  Object.assign(rule, { window: window.text, window_ms: window.ms, for: hold.text, for_ms: hold.ms });
  const actions = o.actions === undefined || o.actions === null ? [] : o.actions;
  if (!Array.isArray(actions)) c.fail([...p, 'actions'], 'must be a list of { webhook: URL } or { log: {} }');
  rule.actions = actions.map((a, i): AlertAction => {
    const ap = [...p, 'actions', i];
    const m = c.map(a, ap, ['webhook', 'log']);
    if (Object.keys(m).length !== 1) c.fail(ap, 'must have exactly one of webhook, log');
    if (m.webhook !== undefined) {
      let url: URL | undefined;
      try {
        url = typeof m.webhook === 'string' ? new URL(m.webhook) : undefined;
      } catch {}
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) c.fail([...ap, 'webhook'], `must be an http(s) URL (got ${JSON.stringify(m.webhook)})`);
      return { webhook: m.webhook as string };
    }
    const l = c.map(m.log ?? {}, [...ap, 'log'], ['level']);
    const level = l.level ?? 'warn';
    if (typeof level !== 'string' || !(LEVELS as readonly string[]).includes(level)) c.fail([...ap, 'log', 'level'], `must be one of ${LEVELS.join(', ')}`);
    return { log: { level: level as (typeof LEVELS)[number] } };
  });
  if (o.description !== undefined) {
    if (typeof o.description !== 'string') c.fail([...p, 'description'], 'must be text');
    rule.description = o.description;
  }
  return rule as AlertRule;
}

function checkAll(c: Checker, top: unknown): AlertRule[] {
  const o = c.map(top ?? {}, [], ['rules']);
  const list = o.rules ?? [];
  if (!Array.isArray(list)) c.fail(['rules'], 'must be a list');
  const rules = list.map((r, i) => checkRule(c, r, ['rules', i]));
  const seen = new Set<string>();
  rules.forEach((r, i) => {
    if (seen.has(r.name)) c.fail(['rules', i, 'name'], `rule '${r.name}' is declared twice`);
    seen.add(r.name);
  });
  return rules;
}

/** Parses and validates a rules file's text (`rules:` list); errors name the line and field. */
export function parseRules(text: string, file = 'alerts.yaml'): AlertRule[] {
  const source = parseYaml(text, file);
  const c = new Checker(source, 'rules');
  if (source.doc.contents !== null && !isMap(source.doc.contents)) c.fail([], 'the file must be a mapping with a `rules:` list');
  return checkAll(c, source.doc.toJS());
}

/** Validates rules given as JSON (`{rules: [...]}`, as the REST API takes them). */
export function checkRules(doc: unknown): AlertRule[] {
  return checkAll(new Checker(undefined, 'rules'), doc);
}

/** Reads and validates a rules file. */
export function loadRulesFile(path: string): { text: string; rules: AlertRule[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw errors.badRequest(`cannot read rules file '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'FILE');
  }
  return { text, rules: parseRules(text, basename(path)) };
}
