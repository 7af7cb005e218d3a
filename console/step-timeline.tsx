import { STEPS, type FileView } from './types';

const time = (iso: string | null) => (iso ? new Date(iso).toLocaleTimeString() : '');

/** scan → validate → resize → store → index → notify, each with its state, attempts and time. */
export function StepTimeline({ file }: { file: FileView }) {
  if (!file.steps) return null;
  return (
    <ol class="steps" aria-label={`Steps of ${file.filename}`}>
      {STEPS.map((name) => {
        const step = file.steps?.[name];
        const state = step?.state ?? 'pending';
        const attempts = step && step.attempts > 1 ? `, ${step.attempts} attempts` : '';
        const when = step ? time(step.finishedAt ?? step.startedAt) : '';
        return (
          <li key={name} class={`step step-${state}`} title={step?.error ?? undefined}>
            <span class="step-name">{name}</span>{' '}
            <span class="step-state">
              {state}
              {attempts}
            </span>
            {when && <time class="step-time"> {when}</time>}
          </li>
        );
      })}
    </ol>
  );
}
