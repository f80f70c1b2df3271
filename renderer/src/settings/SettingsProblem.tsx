/** A failed settings call in plain language (explain.ts explainSettingsError), with its code. */
import type { ReactElement } from 'react';

import type { HispError } from '../../../hisp/api/index.js';
import { ProblemNotice } from '../ErrorNotice.js';
import { explainSettingsError } from '../mail/explain.js';

export function SettingsProblem({
  error,
  testId,
}: {
  error: HispError;
  testId?: string;
}): ReactElement {
  return (
    <ProblemNotice
      problem={explainSettingsError({ code: error.code, message: error.message })}
      testId={testId}
      className="settings-problem"
      showCode
    />
  );
}
