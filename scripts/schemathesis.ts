import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, TOOLS_DIR } from '../infra/tools';

/** Where scripts/setup.mjs installs schemathesis (pinned by scripts/fuzz-requirements.txt). */
export const SCHEMATHESIS_PATH = join(TOOLS_DIR, 'fuzz-venv', 'bin', 'schemathesis');

/**
 * Every check schemathesis has, less the ones that cannot hold for Intake (each says why). Named one by
 * one rather than `all` so a schemathesis upgrade that adds a check shows up here as a decision.
 */
export const FUZZ_CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
  'negative_data_rejection',
  'positive_data_acceptance',
  'missing_required_header',
  'unsupported_method',
  'allow_header_conformance',
  'ensure_resource_availability',
  'ignored_auth',
  'object_level_authorization',
  // use_after_free is off: Intake keeps what was deleted readable on purpose. A deleted file answers
  // 200 with status DELETED (its bytes 410), and a removed webhook's delivery log stays (the audit trail).
] as const;

/**
 * The ids the fuzzer uses for `{id}` in a pass over the deep paths, so it reaches real resources. The
 * operations that change or remove a resource get one of their own, so the reads keep theirs.
 */
export interface FuzzFixtures {
  /** A READY JPEG with a `thumb` rendition, for the reads (status, content, renditions). */
  fileId: string;
  /** Another READY file, for DELETE and PATCH retention (which may release a hold, then delete). */
  mutableFileId: string;
  /** A registered webhook endpoint, for its deliveries. */
  webhookId: string;
  /** Another endpoint, for DELETE. */
  deletableWebhookId: string;
  /** A batch of one READY JPEG, for GET /v1/batches/{id}. */
  batchId: string;
  /**
   * A receiver on 127.0.0.1 that every generated webhook and callback URL is pinned to: the workers
   * deliver to what the fuzzer registers, and nothing may leave this machine.
   */
  receiverUrl: string;
}

export interface SchemathesisRun {
  /** The API's base URL; the schema is read from `<url>/openapi.json`. */
  url: string;
  apiKey: string;
  /** Another tenant's key: object_level_authorization replays the first tenant's reads with it. */
  peerApiKey: string;
  fixtures: FuzzFixtures;
  /** Test cases per operation and phase; small in `npm test`, larger in `npm run fuzz`. */
  maxExamples: number;
  /** Reports (JUnit XML, HAR of every request) land here. */
  reportDir: string;
  seed?: number;
  /** Lines of schemathesis' output; the console by default. */
  output?: (line: string) => void;
}

export interface SchemathesisResult {
  /** 0 when every pass found nothing. */
  exitCode: number;
  /** The report folder of each pass. */
  reports: string[];
}

/** `[[operations]]` entries that fix one parameter of the named operations. */
function pinnedIds(parameter: string, value: string, ...operations: string[]): string[] {
  return operations.flatMap((name) => [
    '[[operations]]',
    `include-name = "${name}"`,
    `parameters = { "${parameter}" = "${value}" }`,
    '',
  ]);
}

/**
 * Two passes, since a fixed path parameter is fixed for every case: the first generates every `{id}`
 * (valid, malformed, unknown: the 400 and 404 answers), the second pins `{id}` to the fixtures so
 * downloads, renditions, retention changes and deliveries run on resources that exist.
 */
function passes(fixtures: FuzzFixtures): { name: string; config: string; include?: string }[] {
  const common = [
    // Two tenants from auth.json (Web Fuzzing Commons): requests go as `owner`, and
    // object_level_authorization checks that `peer` never reads what `owner` owns.
    '[auth.wfc]',
    'path = "auth.json"',
    'user = "owner"',
    'peers = ["owner", "peer"]',
    '',
    '[parameters]',
    `"query.callbackUrl" = "${fixtures.receiverUrl}/callback"`,
    `"body.callbackUrl" = "${fixtures.receiverUrl}/callback"`,
    `"body.url" = "${fixtures.receiverUrl}/webhook"`,
    '',
    // The checks live here, not in --checks: a CLI list would override the per-operation settings below.
    '[checks]',
    'enabled = false',
    ...FUZZ_CHECKS.map((check) => `${check}.enabled = true`),
    // A file's terminal states (deleted, quarantined, rejected) answer 410 by design: the request was
    // valid, the resource is gone. The default list is schemathesis' own, plus 410.
    'positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "410", "429"]',
    '',
    // Also 400 and 422, for what a schema cannot say: a raw upload needs ?filename= (a multipart one
    // does not), its bytes can be empty, and its Idempotency-Key can be taken by another upload (the
    // stateful phase replays header values).
    '[[operations]]',
    'include-name = "POST /v1/files"',
    'checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "410", "422", "429"]',
    // negative_data_rejection is off for the upload alone: a multipart field is text on the wire, so
    // a "number" or "object" tags field arrives as the text "0" or "{…}", a valid tag the route must
    // take. Negative cases still run there, for no 5xx and documented statuses, bodies and headers.
    'checks.negative_data_rejection.enabled = false',
    '',
    // Also 400 for what the schemas cannot say: a share link's expiresIn beyond INTAKE_SHARE_MAX_EXPIRY, a
    // direct upload's retention outside its bounds, a private callback host or a bad tag; 413 for a
    // declared size over the upload limit.
    '[[operations]]',
    'include-name = "POST /v1/files/{id}/shares"',
    'checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "410", "429"]',
    '',
    '[[operations]]',
    'include-name = "POST /v1/uploads"',
    // 422 too: a schema name that matches the pattern but that the tenant never registered.
    'checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "410", "413", "422", "429"]',
    '',
    // The batch upload is multipart like the single one: the same statuses, and the same reason for
    // leaving negative_data_rejection off (a field is text on the wire).
    '[[operations]]',
    'include-name = "POST /v1/batches"',
    'checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "410", "413", "422", "429"]',
    'checks.negative_data_rejection.enabled = false',
    '',
    // Also 400 for a retention change the workflow's validator refuses: an expiry in the past, or an
    // extension of a file still processing (the period starts at its outcome).
    '[[operations]]',
    'include-name = "PATCH /v1/files/{id}/retention"',
    'checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "410", "429"]',
    '',
    // Also 400 for what the schema cannot say: from after to, or a range over MAX_SUMMARY_DAYS.
    '[[operations]]',
    'include-name = "GET /v1/analytics/summary"',
    'checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "410", "429"]',
    '',
    // The tus routes speak a protocol of headers and raw bytes that @tus/server answers on its own terms
    // (plain 403/412 for a missing header); test/e2e/tus-uploads.test.ts covers them with real clients.
    '[[operations]]',
    'include-path-regex = "^/v1/tus"',
    'enabled = false',
    '',
    // The event streams stay open for up to 10 minutes by design (then the client reconnects); the fuzzer
    // reads each for a second. test/unit/api-file-event-streams.test.ts and the console's browser test
    // cover what they send.
    ...['GET /v1/events/stream', 'GET /v1/files/{id}/events'].flatMap((operation) => [
      '[[operations]]',
      `include-name = "${operation}"`,
      'parameters = { "query.duration" = "1s" }',
      '',
    ]),
    // Also 400: the cursor is opaque (base64url of a keyset this API wrote); any other string is refused.
    // The same holds for every cursor-paginated list.
    ...['GET /v1/files', 'GET /v1/events', 'GET /v1/batches/{id}'].flatMap((operation) => [
      '[[operations]]',
      `include-name = "${operation}"`,
      'checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "410", "429"]',
      '',
    ]),
  ];
  return [
    { name: 'generated-ids', config: common.join('\n') },
    {
      name: 'fixture-ids',
      include: '^/v1/(files|webhooks|batches)/\\{id\\}',
      config: [
        ...common,
        ...pinnedIds('path.id', fixtures.fileId, 'GET /v1/files/{id}', 'GET /v1/files/{id}/content'),
        ...pinnedIds('path.id', fixtures.fileId, 'GET /v1/files/{id}/renditions/{name}').map((line) =>
          line.replace(/ }$/, ', "path.name" = "thumb" }'),
        ),
        ...pinnedIds('path.id', fixtures.mutableFileId, 'DELETE /v1/files/{id}', 'PATCH /v1/files/{id}/retention'),
        // Share links on the READY fixture (a revoke names an unknown link: 404, the file stays shareable).
        ...pinnedIds(
          'path.id',
          fixtures.fileId,
          'POST /v1/files/{id}/shares',
          'GET /v1/files/{id}/shares',
          'DELETE /v1/files/{id}/shares/{shareId}',
        ),
        ...pinnedIds('path.id', fixtures.webhookId, 'GET /v1/webhooks/{id}/deliveries'),
        ...pinnedIds('path.id', fixtures.deletableWebhookId, 'DELETE /v1/webhooks/{id}'),
        ...pinnedIds('path.id', fixtures.batchId, 'GET /v1/batches/{id}'),
      ].join('\n'),
    },
  ];
}

function runOnce(args: string[], cwd: string, output: (line: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(SCHEMATHESIS_PATH, args, {
      cwd,
      // No colours in logs, and no phoning home: this machine reaches no analytics service.
      env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_TELEMETRY: 'false', PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    const onData = (chunk: Buffer): void => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) output(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (pending) output(pending);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

/** Runs schemathesis over the API's own /openapi.json with every check in FUZZ_CHECKS. */
export async function runSchemathesis(run: SchemathesisRun): Promise<SchemathesisResult> {
  if (!existsSync(SCHEMATHESIS_PATH)) {
    throw new Error(`${SCHEMATHESIS_PATH} is missing: run \`npm run setup\` first.`);
  }
  const output = run.output ?? ((line: string) => console.log(line));
  const reports: string[] = [];
  let exitCode = 0;
  for (const pass of passes(run.fixtures)) {
    const dir = join(run.reportDir, pass.name);
    mkdirSync(dir, { recursive: true });
    // Each pass has its own schemathesis.toml, named explicitly so none is picked up from the repo.
    writeFileSync(join(dir, 'schemathesis.toml'), pass.config);
    const bearer = (key: string) => [{ name: 'Authorization', value: `Bearer ${key}` }];
    writeFileSync(
      join(dir, 'auth.json'),
      JSON.stringify({
        auth: [
          { name: 'owner', fixedHeaders: bearer(run.apiKey) },
          { name: 'peer', fixedHeaders: bearer(run.peerApiKey) },
        ],
      }),
    );
    const args = [
      '--config-file',
      join(dir, 'schemathesis.toml'),
      'run',
      `${run.url}/openapi.json`,
      '--url',
      run.url,
      '--max-examples',
      String(run.maxExamples),
      // One worker: with several threads, hypothesis' lambda descriptions hit a CPython 3.11 AST bug
      // ("AST constructor recursion depth mismatch") that schemathesis reports as a runtime error.
      '--workers',
      '1',
      '--report',
      'junit,har',
      '--report-dir',
      dir,
      ...(run.seed === undefined ? [] : ['--seed', String(run.seed)]),
      ...(pass.include ? ['--include-path-regex', pass.include] : []),
    ];
    output(`fuzz: pass ${pass.name}: schemathesis ${args.join(' ')}`);
    const code = await runOnce(args, dir, output);
    output(`fuzz: pass ${pass.name} exited ${code}; report in ${dir}`);
    reports.push(dir);
    if (code !== 0 && exitCode === 0) exitCode = code;
  }
  return { exitCode, reports };
}

/** The default report folder of `npm run fuzz` (git-ignored with .data/). */
export const DEFAULT_REPORT_DIR = join(REPO_ROOT, '.data', 'fuzz-report');
