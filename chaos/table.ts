import type { FaultResult } from './run-fault';

/** The chaos table of issue 10, in Markdown. */
export function chaosTable(results: readonly FaultResult[]): string {
  const header = [
    'fault',
    'uploads',
    'READY',
    'stuck',
    'duplicates',
    '5xx other than 503',
    '503 retried',
    'file.ready exactly once after dedupe',
    'raw redeliveries',
    'lost workflows restarted',
    'settled in',
  ];
  const rows = results.map((r) => [
    r.label,
    String(r.uploads),
    String(r.ready),
    String(r.stuck),
    String(r.duplicates),
    String(r.serverErrorsOther503),
    String(r.retried503),
    `${r.webhooksDelivered - r.webhookDuplicateEvents}/${r.ready}`,
    String(r.webhookRedeliveries),
    String(r.lostWorkflowsRestarted),
    `${r.settleSeconds} s`,
  ]);
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** What "done" means in issue 10, per fault: READY = uploads, nothing stuck or doubled, no 5xx but 503. */
export function failuresOf(result: FaultResult): string[] {
  const problems: string[] = [];
  if (result.ready !== result.uploads) problems.push(`READY ${result.ready} of ${result.uploads}`);
  if (result.stuck > 0) problems.push(`${result.stuck} stuck`);
  if (result.duplicates > 0) problems.push(`${result.duplicates} duplicates`);
  if (result.serverErrorsOther503 > 0) problems.push(`${result.serverErrorsOther503} 5xx other than 503`);
  if (result.webhooksDelivered !== result.ready)
    problems.push(`file.ready for ${result.webhooksDelivered} of ${result.ready}`);
  if (result.webhookDuplicateEvents > 0)
    problems.push(`${result.webhookDuplicateEvents} files notified under two event ids`);
  return problems;
}
