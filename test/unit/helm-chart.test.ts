import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SHUTDOWN_GRACE_MS as API_SHUTDOWN_GRACE_MS } from '../../api/server';
import { GENERAL_TASK_QUEUE, MEDIA_TASK_QUEUE } from '../../common/task-queues';
import { CONFIG_VARIABLES, loadConfig, shownValue } from '../../config/env';
import { SHUTDOWN_GRACE_MS as WORKER_SHUTDOWN_GRACE_MS } from '../../workers/create-worker';
import { helmValuesSchema } from '../../scripts/helm-values-schema';
import {
  CHART,
  envOf,
  helm,
  podSpecs,
  renderChart,
  templateText,
  type Container,
  type Resource,
} from '../support/helm-chart';

const ROOT = resolve(import.meta.dirname, '../..');
const PYTHON = join(ROOT, '.tools/k8s-venv/bin/python');
const KEDA_CRDS = join(ROOT, 'deploy/helm/vendor/keda');
const chartYaml = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as {
  appVersion: string;
  kubeVersion: string;
};
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

/** The default values and each example: what `npm test` renders, lints and validates. */
const VALUES_FILES: { name: string; files: string[] }[] = [
  { name: 'default values', files: [] },
  ...readdirSync(join(CHART, 'examples'))
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => ({ name: `examples/${file}`, files: [join(CHART, 'examples', file)] })),
];

const scratch = mkdtempSync(join(tmpdir(), 'intake-helm-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const deployments = (resources: Resource[]) => resources.filter((r) => r.kind === 'Deployment');

/** The Deployment running INTAKE_WORKER_KIND=kind. */
function workerDeployment(resources: Resource[], kind: string): Resource {
  const found = deployments(resources).find((d) =>
    d.spec!.template!.spec.containers.some((c) => envOf(c, 'INTAKE_WORKER_KIND') === kind),
  );
  if (!found) throw new Error(`no Deployment runs INTAKE_WORKER_KIND=${kind}`);
  return found;
}

function decoded(secret: Resource): Record<string, string> {
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}

/** What a container's process sees: its ConfigMaps and Secrets (as rendered), then its own env. */
function environmentOf(container: Container, resources: Resource[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef ?? source.secretRef;
    const kind = source.configMapRef ? 'ConfigMap' : 'Secret';
    const found = resources.find((r) => r.kind === kind && r.metadata.name === ref?.name);
    if (!found) throw new Error(`${container.name} loads ${kind} ${ref?.name}, which the chart does not render`);
    Object.assign(env, kind === 'Secret' ? decoded(found) : found.data);
  }
  for (const variable of container.env ?? []) if (variable.value !== undefined) env[variable.name] = variable.value;
  return env;
}

/** Valid stand-ins for every secret, to render each example with the chart's own Secret. */
const TEST_SECRETS = {
  DATABASE_URL: 'postgresql://intake:test-db-password@db.test:5432/intake',
  S3_ACCESS_KEY_ID: 'test-access-key-id',
  S3_SECRET_ACCESS_KEY: 'test-s3-secret-access-key',
  S3_SSE_KMS_KEY_ID: 'arn:aws:kms:eu-west-1:000000000000:key/test-kms-key',
  INTAKE_PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
  INTAKE_CODEC_TOKEN: 'test-codec-token-0123456789abcdef',
  INTAKE_API_KEYS: 'acme=test-api-key-0123',
  TEMPORAL_API_KEY: 'test-temporal-api-key',
};
const testSecretsFile = join(scratch, 'test-secrets.yaml');
writeFileSync(testSecretsFile, JSON.stringify({ secrets: { existingSecret: '', values: TEST_SECRETS } }));

describe('the Helm chart deploy/helm/intake', () => {
  it.each(VALUES_FILES)('passes helm lint --strict with $name', ({ files }) => {
    const result = helm(['lint', '--strict', CHART, ...files.flatMap((f) => ['-f', f])]);
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it.each(VALUES_FILES)(
    "renders with $name into manifests valid against Kubernetes' API schemas and KEDA's CRDs",
    ({ files }) => {
      // The oldest Kubernetes the chart declares, and the newest kubernetes-validate ships.
      const floor = /(\d+\.\d+\.\d+)/.exec(chartYaml.kubeVersion)?.[1];
      expect(floor).toBeDefined();
      for (const extra of [[], ['--set', 'keda.enabled=false']]) {
        const manifests = templateText(files, extra);
        const out = execFileSync(
          PYTHON,
          [
            join(ROOT, 'scripts/validate-manifests.py'),
            '--kubernetes-version',
            floor!,
            '--kubernetes-version',
            '1.37.0',
            '--crds',
            KEDA_CRDS,
          ],
          { input: manifests, encoding: 'utf8' },
        );
        const report = JSON.parse(out) as { checked: number; errors: string[] };
        expect(report.errors).toEqual([]);
        expect(report.checked).toBe(renderChart(files, extra).length);
      }
    },
  );

  it.each(VALUES_FILES)(
    'gives every container requests, limits, probes and a non-root, read-only security context with $name',
    ({ files }) => {
      const resources = renderChart(files);
      expect(podSpecs(resources).length).toBeGreaterThanOrEqual(4);
      for (const { resource, pod } of podSpecs(resources)) {
        const podContext = pod.securityContext ?? {};
        for (const container of pod.containers) {
          const where = `${resource.kind}/${resource.metadata.name}/${container.name}`;
          for (const resourceName of ['cpu', 'memory']) {
            expect(container.resources?.requests?.[resourceName], `${where} requests.${resourceName}`).toBeTruthy();
            expect(container.resources?.limits?.[resourceName], `${where} limits.${resourceName}`).toBeTruthy();
          }
          if (resource.kind === 'Deployment') {
            expect(container.readinessProbe, `${where} readinessProbe`).toBeDefined();
            expect(container.livenessProbe, `${where} livenessProbe`).toBeDefined();
          } else {
            // A Job runs to completion: its deadline bounds it where probes would not.
            expect((resource.spec as { activeDeadlineSeconds?: number }).activeDeadlineSeconds).toBeGreaterThan(0);
          }
          const context = { ...podContext, ...container.securityContext };
          expect(context.runAsNonRoot, `${where} runAsNonRoot`).toBe(true);
          // The image's USER is the name `node`, which the kubelet cannot check: a numeric uid is needed.
          expect(context.runAsUser, `${where} runAsUser`).toBeGreaterThan(0);
          expect(context.readOnlyRootFilesystem, `${where} readOnlyRootFilesystem`).toBe(true);
          expect(context.allowPrivilegeEscalation, `${where} allowPrivilegeEscalation`).toBe(false);
          expect(container.securityContext?.capabilities?.drop, `${where} capabilities`).toEqual(['ALL']);
        }
      }
    },
  );

  it.each(VALUES_FILES)('sets only variables the config schema knows with $name', ({ files }) => {
    for (const extra of [[], ['-f', testSecretsFile]]) {
      const resources = renderChart(files, extra);
      const names = new Set<string>();
      for (const r of resources) {
        if (r.kind === 'ConfigMap' || r.kind === 'Secret') for (const key of Object.keys(r.data ?? {})) names.add(key);
      }
      for (const { pod } of podSpecs(resources)) {
        for (const container of pod.containers) for (const variable of container.env ?? []) names.add(variable.name);
      }
      expect(names.size).toBeGreaterThan(10);
      expect([...names].filter((name) => !CONFIG_VARIABLES.includes(name))).toEqual([]);
    }
  });

  it.each(VALUES_FILES)(
    'holds no secret value in a ConfigMap, by the redaction rule of config/env.ts, with $name',
    ({ files }) => {
      const resources = renderChart(files, ['-f', testSecretsFile]);
      const configMaps = resources.filter((r) => r.kind === 'ConfigMap');
      expect(configMaps.length).toBeGreaterThan(0);
      for (const configMap of configMaps) {
        for (const [name, value] of Object.entries(configMap.data ?? {})) {
          // What logs may show of it: redacted by name, or a URL stripped of its user, password or query.
          expect(shownValue(name, value), `${configMap.metadata.name}: ${name}`).not.toMatch(/\[redacted\]|\*\*\*/);
        }
        const text = JSON.stringify(configMap.data);
        for (const secret of Object.values(TEST_SECRETS)) expect(text).not.toContain(secret);
      }
      const secrets = resources.filter((r) => r.kind === 'Secret').map(decoded);
      for (const [name, value] of Object.entries(TEST_SECRETS)) {
        expect(
          secrets.some((s) => s[name] === value),
          `${name} in a Secret`,
        ).toBe(true);
      }
    },
  );

  it.each(VALUES_FILES)('gives every process an environment loadConfig accepts with $name', ({ files }) => {
    const resources = renderChart(files, ['-f', testSecretsFile]);
    for (const { resource, pod } of podSpecs(resources)) {
      for (const container of pod.containers) {
        const env = environmentOf(container, resources);
        expect(() => loadConfig(env), `${resource.metadata.name}`).not.toThrow();
        expect(loadConfig(env).env).toBe('production');
      }
    }
  });

  it.each(VALUES_FILES)(
    "scales the media and general workers with KEDA's temporal trigger on the code's task queues with $name",
    ({ files }) => {
      const resources = renderChart(files);
      const scaled = resources.filter((r) => r.kind === 'ScaledObject');
      const triggerFor = (deployment: Resource) => {
        const object = scaled.find(
          (s) => (s.spec!.scaleTargetRef as { name: string }).name === deployment.metadata.name,
        );
        expect(object, `ScaledObject for ${deployment.metadata.name}`).toBeDefined();
        const triggers = object!.spec!.triggers as { type: string; metadata: Record<string, string> }[];
        return { temporal: triggers.find((t) => t.type === 'temporal'), types: triggers.map((t) => t.type) };
      };
      const media = workerDeployment(resources, 'media');
      const mediaTrigger = triggerFor(media);
      expect(mediaTrigger.temporal?.metadata.taskQueue).toBe(MEDIA_TASK_QUEUE);
      expect(mediaTrigger.temporal?.metadata.queueTypes).toBe('activity');
      // One more round of resizes waiting per pod: the KEDA target is the pod's resize slots.
      const slots = envOf(media.spec!.template!.spec.containers[0]!, 'INTAKE_RESIZE_CONCURRENCY');
      expect(slots).toMatch(/^\d+$/);
      expect(mediaTrigger.temporal?.metadata.targetQueueSize).toBe(slots);
      expect(mediaTrigger.types).toContain('cpu');
      const general = triggerFor(workerDeployment(resources, 'general'));
      expect(general.temporal?.metadata.taskQueue).toBe(GENERAL_TASK_QUEUE);
      const config = resources.find((r) => r.kind === 'ConfigMap' && r.metadata.name === 'intake-config')!;
      expect(mediaTrigger.temporal?.metadata.endpoint).toBe(config.data!.TEMPORAL_ADDRESS);
      expect(mediaTrigger.temporal?.metadata.namespace).toBe(config.data!.TEMPORAL_NAMESPACE);
      // Autoscaled Deployments leave replicas to the autoscaler, so an upgrade does not reset them.
      for (const d of deployments(resources)) expect(d.spec!.replicas, d.metadata.name).toBeUndefined();
    },
  );

  it('authenticates KEDA to Temporal Cloud with the same API key as Intake', () => {
    const resources = renderChart([join(CHART, 'examples/temporal-cloud-aws.yaml')]);
    const auth = resources.find((r) => r.kind === 'TriggerAuthentication');
    expect(auth?.spec?.secretTargetRef).toEqual([
      { parameter: 'apiKey', name: 'intake-secrets', key: 'TEMPORAL_API_KEY' },
    ]);
    for (const object of resources.filter((r) => r.kind === 'ScaledObject')) {
      const triggers = object.spec!.triggers as { type: string; authenticationRef?: { name: string } }[];
      expect(triggers.find((t) => t.type === 'temporal')?.authenticationRef?.name).toBe(auth!.metadata.name);
    }
  });

  it('mounts an mTLS client certificate and points Intake and KEDA at it', () => {
    const resources = renderChart(
      [],
      ['--set', 'temporal.auth=mtls', '--set', 'temporal.mtlsSecret=intake-temporal-tls'],
    );
    for (const { pod } of podSpecs(resources)) {
      const env = environmentOf(pod.containers[0]!, resources);
      expect(env.TEMPORAL_TLS_CERT_PATH).toBe('/etc/intake/temporal-tls/tls.crt');
      expect(env.TEMPORAL_TLS_KEY_PATH).toBe('/etc/intake/temporal-tls/tls.key');
    }
    const auth = resources.find((r) => r.kind === 'TriggerAuthentication');
    expect((auth?.spec?.secretTargetRef as { parameter: string }[]).map((t) => t.parameter)).toEqual(['cert', 'key']);
  });

  it('falls back to CPU HorizontalPodAutoscalers when KEDA is not installed', () => {
    const resources = renderChart([], ['--set', 'keda.enabled=false']);
    expect(resources.filter((r) => r.apiVersion.startsWith('keda.sh/'))).toEqual([]);
    const hpaTargets = resources
      .filter((r) => r.kind === 'HorizontalPodAutoscaler')
      .map((r) => (r.spec!.scaleTargetRef as { name: string }).name)
      .sort();
    expect(hpaTargets).toEqual(
      deployments(resources)
        .map((d) => d.metadata.name)
        .sort(),
    );
  });

  it('gives the API and every worker a grace period longer than its own drain', () => {
    const resources = renderChart([]);
    for (const d of deployments(resources)) {
      const pod = d.spec!.template!.spec;
      const isWorker = pod.containers[0]!.command?.includes('workers/main.ts');
      const drainSeconds = (isWorker ? WORKER_SHUTDOWN_GRACE_MS : API_SHUTDOWN_GRACE_MS) / 1000;
      const preStop = (pod.containers[0] as { lifecycle?: { preStop?: { sleep?: { seconds: number } } } }).lifecycle
        ?.preStop?.sleep?.seconds;
      expect(pod.terminationGracePeriodSeconds, d.metadata.name).toBeGreaterThan(drainSeconds + (preStop ?? 0));
    }
  });

  it('runs the API, each worker kind and migrations from the one image of appVersion', () => {
    expect(chartYaml.appVersion).toBe(packageJson.version);
    const resources = renderChart([]);
    const commands = podSpecs(resources).map(({ pod }) => pod.containers[0]!.command?.join(' '));
    expect(new Set(commands)).toEqual(
      new Set([
        'node_modules/.bin/tsx api/server.ts',
        'node_modules/.bin/tsx workers/main.ts',
        'node_modules/.bin/tsx scripts/migrate.ts',
      ]),
    );
    const images = new Set(podSpecs(resources).flatMap(({ pod }) => pod.containers.map((c) => c.image)));
    expect(images).toEqual(new Set([`intake:${packageJson.version}`]));
    // The Dockerfile's production install leaves dev-only packages out of that image.
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/npm ci --omit=dev/);
  });

  it('migrates in a pre-install and pre-upgrade hook that reads its own copy of the configuration', () => {
    const resources = renderChart([]);
    const job = resources.find((r) => r.kind === 'Job')!;
    expect(job.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    const container = job.spec!.template!.spec.containers[0]!;
    for (const source of container.envFrom ?? []) {
      const name = (source.configMapRef ?? source.secretRef)!.name;
      const copy = resources.find((r) => r.metadata.name === name)!;
      expect(copy.metadata.annotations?.['helm.sh/hook'], name).toBe('pre-install,pre-upgrade');
      expect(Number(copy.metadata.annotations?.['helm.sh/hook-weight'])).toBeLessThan(
        Number(job.metadata.annotations?.['helm.sh/hook-weight']),
      );
    }
  });

  it('deploys a worker kind for each enabled values entry, so ingest is one switch away', () => {
    const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as {
      workers: Record<string, { enabled: boolean; kind: string }>;
    };
    expect(values.workers.ingest).toMatchObject({ enabled: false, kind: 'ingest' });
    const before = deployments(renderChart([])).length;
    const withIngest = renderChart([], ['--set', 'workers.ingest.enabled=true']);
    expect(deployments(withIngest)).toHaveLength(before + 1);
    expect(workerDeployment(withIngest, 'ingest').metadata.name).toBe('intake-ingest-worker');
  });

  it('checks values against a schema generated from config/env.ts', () => {
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as unknown;
    expect(schema, 'regenerate it: see scripts/helm-values-schema.ts').toEqual(helmValuesSchema());
  });

  it.each([
    ['config.INTAKE_LOG_LEVL=debug', /invalid propertyName 'INTAKE_LOG_LEVL'/],
    ['config.S3_SECRET_ACCESS_KEY=abc', /invalid propertyName 'S3_SECRET_ACCESS_KEY'/],
    ['config.DATABASE_URL=postgresql://intake:pw@db/intake', /config.DATABASE_URL carries credentials/],
    ['workers.media.env.INTAKE_CODEC_TOKEN=abc', /invalid propertyName 'INTAKE_CODEC_TOKEN'/],
    ['temporal.auth=apiKey', /needs TEMPORAL_API_KEY/],
    ['temporal.auth=password', /temporal\/auth|value must be one of/],
  ])('refuses to render with %s', (setting, message) => {
    const result = helm(['template', 'intake', CHART, '--set', setting]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });
});
