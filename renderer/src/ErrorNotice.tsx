/** A HispError in plain language: what happened, its code, and whose move it is. */
import type { ReactElement, ReactNode } from 'react';

import type { HispError } from '../../hisp/api/index.js';

export interface ErrorNoticeProps {
  readonly title: string;
  readonly error: HispError;
  /** An extra sentence on what to do next. */
  readonly hint?: string;
  readonly action?: ReactNode;
  readonly testId?: string;
  /**
   * Say whether this is the user's to fix or a bug to report (from the error registry).
   * Off where the hint already says what to do, e.g. for a HISP that stopped.
   */
  readonly showWhoFixes?: boolean;
}

export function ErrorNotice({
  title,
  error,
  hint,
  action,
  testId,
  showWhoFixes = true,
}: ErrorNoticeProps): ReactElement {
  return (
    <section
      className="notice notice-error"
      role="alert"
      data-testid={testId}
      data-code={error.code}
    >
      <h2 className="notice-title">{title}</h2>
      <p data-testid={testId === undefined ? undefined : `${testId}-message`}>{error.message}</p>
      {hint !== undefined && <p>{hint}</p>}
      <p className="muted">
        {showWhoFixes &&
          (error.userFixable
            ? 'This is something you or your IT staff can fix. '
            : 'If this keeps happening, report it to Sealpost support with the error code. ')}
        Error code:{' '}
        <code data-testid={testId === undefined ? undefined : `${testId}-code`}>{error.code}</code>
      </p>
      {action !== undefined && <div className="notice-actions">{action}</div>}
    </section>
  );
}
