import { describeError, isKubeteeError } from '../common/errors.js';
import type { ScenarioRunView, ScenarioStepView } from '../dashboard/model.js';

export interface StepReporter {
  (step: ScenarioStepView, index: number): void;
}

export type StepResult = Omit<ScenarioStepView, 'title'>;

/**
 * Records a scenario run step by step. A step body returns its outcome; a
 * throw becomes a failed step with the error's code, so one broken step never
 * hides the others or crashes the run.
 */
export function scenarioRun(name: string, report: StepReporter, now: () => Date): {
  run: ScenarioRunView;
  step(title: string, body: () => Promise<StepResult>): Promise<boolean>;
  finish(): ScenarioRunView;
} {
  const run: ScenarioRunView = { name, startedAt: now().toISOString(), passed: true, steps: [] };
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
