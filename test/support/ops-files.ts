import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../infra/tools';

/*
 * What ops/ asks Prometheus for: every PromQL expression in the alert rules and the Grafana
 * dashboards, and the metric names in them. Intake's, the Temporal SDK's and the process metrics all
 * carry one of these prefixes; `up` and PromQL's functions and labels do not.
 */

export const OPS_DIR = join(REPO_ROOT, 'ops');
const METRIC_PREFIXES = ['intake_', 'temporal_', 'http_', 'process_', 'nodejs_'];

interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}
interface Dashboard {
  panels: { title: string; targets?: { expr: string }[] }[];
}

export function alertRuleFiles(): { file: string; rules: RuleFile }[] {
  const dir = join(OPS_DIR, 'prometheus', 'rules');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .map((file) => ({ file: join(dir, file), rules: parse(readFileSync(join(dir, file), 'utf8')) as RuleFile }));
}

export function dashboards(): { file: string; dashboard: Dashboard }[] {
  const dir = join(OPS_DIR, 'grafana', 'dashboards');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(dir, file), 'utf8')) as Dashboard }));
}

/** Every PromQL expression ops/ evaluates. */
export function opsExpressions(): string[] {
  return [
    ...alertRuleFiles().flatMap(({ rules }) => rules.groups.flatMap((g) => g.rules.map((r) => r.expr))),
    ...dashboards().flatMap(({ dashboard }) => dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr))),
  ];
}

/** The metric families those expressions read (a histogram's _bucket, _sum and _count are its family). */
export function opsMetricNames(): Set<string> {
  const names = new Set<string>();
  for (const expr of opsExpressions()) {
    // Outside label matchers and strings, so a label value never reads as a metric.
    const bare = expr.replace(/"[^"]*"/g, '""').replace(/\{[^}]*\}/g, '{}');
    for (const [token] of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
      if (!METRIC_PREFIXES.some((prefix) => token.startsWith(prefix))) continue;
      names.add(token.replace(/_(bucket|sum|count)$/, ''));
    }
  }
  return names;
}
