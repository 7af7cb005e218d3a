import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../infra/tools';

/** deploy/helm/intake rendered with `helm template`, for the chart's unit test and its pod-filesystem e2e test. */
export const CHART = join(REPO_ROOT, 'deploy/helm/intake');
export const HELM = join(REPO_ROOT, '.tools/bin/helm');

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
export interface Container {
  name: string;
  image: string;
  command?: string[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  startupProbe?: unknown;
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}
export interface PodSpec {
  containers: Container[];
  securityContext?: Record<string, unknown>;
  terminationGracePeriodSeconds?: number;
  volumes?: { name: string; emptyDir?: unknown }[];
}
export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec?: Record<string, unknown> & { template?: { spec: PodSpec } };
}

export function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(HELM, args, { encoding: 'utf8', cwd: REPO_ROOT });
  if (result.error)
    throw new Error(`${HELM} did not run (node scripts/setup.mjs installs it): ${result.error.message}`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function templateText(files: string[], extra: string[] = []): string {
  const args = ['template', 'intake', CHART, '--namespace', 'intake', ...files.flatMap((f) => ['-f', f]), ...extra];
  const result = helm(args);
  if (result.status !== 0) throw new Error(`helm ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

export function renderChart(files: string[], extra: string[] = []): Resource[] {
  return parseAllDocuments(templateText(files, extra))
    .map((doc) => doc.toJS() as Resource | null)
    .filter((doc): doc is Resource => doc !== null);
}

/** The Deployments' and Jobs' pod specs. */
export const podSpecs = (resources: Resource[]) =>
  resources
    .filter((r) => r.kind === 'Deployment' || r.kind === 'Job')
    .map((r) => ({ resource: r, pod: r.spec!.template!.spec }));

export const envOf = (container: Container, name: string) => container.env?.find((e) => e.name === name)?.value;
