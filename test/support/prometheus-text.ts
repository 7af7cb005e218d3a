import { spawnSync } from 'node:child_process';
import { toolPath } from '../../infra/tools';

/** One metric family as prom2json gives it (Prometheus' own expfmt parser). */
export interface PrometheusFamily {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: {
    labels?: Record<string, string>;
    value?: string;
    /** Histograms: cumulative counts by upper bound ("0.5", "+Inf"). */
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }[];
}

/**
 * Parses Prometheus text exposition with prom2json (built by set-up from the Go module proxy), so a
 * scrape is read by the parser Prometheus itself uses: a malformed line, a duplicate family or a
 * histogram without its +Inf bucket fails here as it would fail a real scrape.
 */
export function parsePrometheusText(text: string): PrometheusFamily[] {
  const result = spawnSync(toolPath('prom2json'), [], { input: text, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`prom2json refused the scrape: ${result.stderr}`);
  return JSON.parse(result.stdout) as PrometheusFamily[];
}
