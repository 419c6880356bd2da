import { describeError, isKubeteeError } from '../common/errors.js';

/*
 * A scenario's record, owned here: the demo knows nothing of the dashboard
 * (src/up maps these onto the dashboard's view types, which have the same shape).
 */
export type ScenarioStepOutcome = 'ok' | 'refused-as-expected' | 'failed';

export interface ScenarioStep {
  title: string;
  outcome: ScenarioStepOutcome;
  detail: string;
}

export interface ScenarioRun {
  name: string;
  startedAt: string;
  finishedAt?: string;
  passed: boolean;
  steps: ScenarioStep[];
}

export interface StepReporter {
  (step: ScenarioStep, index: number): void;
}

export type StepResult = Omit<ScenarioStep, 'title'>;

/**
 * Records a scenario run step by step. A step body returns its outcome; a
 * throw becomes a failed step with the error's code, so one broken step never
 * hides the others or crashes the run.
 */
export function scenarioRun(name: string, report: StepReporter, now: () => Date): {
  run: ScenarioRun;
  step(title: string, body: () => Promise<StepResult>): Promise<boolean>;
  finish(): ScenarioRun;
} {
  const run: ScenarioRun = { name, startedAt: now().toISOString(), passed: true, steps: [] };
  return {
    run,
    async step(title, body) {
      let result: StepResult;
      try {
        result = await body();
      } catch (err) {
        result = { outcome: 'failed', detail: isKubeteeError(err) ? `${err.code}: ${err.message}` : describeError(err) };
      }
      run.steps.push({ title, ...result });
      if (result.outcome === 'failed') run.passed = false;
      report({ title, ...result }, run.steps.length - 1);
      return result.outcome !== 'failed';
    },
    finish() {
      run.finishedAt = now().toISOString();
      return run;
    },
  };
}
