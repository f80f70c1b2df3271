/**
 * Failures in plain language. `ErrorNotice`: a HispError as a notice of its own (what
 * happened, its code, and whose move it is). `ProblemNotice`: an explained failure inline in
 * a form (explain.ts `Explanation`: summary, fix, detail), as the settings screens and the
 * lock screen show it. Both say the error code the same way (`ErrorCodeLine`).
 */
import type { ReactElement, ReactNode } from 'react';

import type { HispError } from '../../hisp/api/index.js';
import type { Explanation } from './mail/explain.js';

/** "Error code: CODE", after an optional sentence. */
export function ErrorCodeLine({
  code,
  lead,
  testId,
}: {
  code: string;
  lead?: ReactNode;
  testId?: string | undefined;
}): ReactElement {
  return (
    <p className="muted">
      {lead}
      Error code: <code data-testid={testId}>{code}</code>
    </p>
  );
}

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
      <ErrorCodeLine
        code={error.code}
        lead={
          showWhoFixes &&
          (error.userFixable
            ? 'This is something you or your IT staff can fix. '
            : 'If this keeps happening, report it to Sealpost support with the error code. ')
        }
        testId={testId === undefined ? undefined : `${testId}-code`}
      />
      {action !== undefined && <div className="notice-actions">{action}</div>}
    </section>
  );
}

export interface ProblemNoticeProps {
  readonly problem: Explanation;
  /** For `aria-describedby` of the field the problem is about. */
  readonly id?: string;
  readonly testId?: string | undefined;
  /** An extra class for the box (its place on the screen). */
  readonly className?: string;
  /** Say the error code under the explanation. */
  readonly showCode?: boolean;
}

/** An explained failure inline (summary, then the fix and the detail when there are any). */
export function ProblemNotice({
  problem,
  id,
  testId,
  className,
  showCode = false,
}: ProblemNoticeProps): ReactElement {
  return (
    <div
      id={id}
      className={`notice-inline notice-bad${className === undefined ? '' : ` ${className}`}`}
      role="alert"
      data-testid={testId}
      data-code={problem.code}
    >
      <p className="problem-summary">{problem.summary}</p>
      {problem.fix !== undefined && <p>{problem.fix}</p>}
      {problem.detail !== undefined && problem.detail !== problem.summary && (
        <p className="problem-detail">{problem.detail}</p>
      )}
      {showCode && <ErrorCodeLine code={problem.code} />}
    </div>
  );
}
