/** Browser mode without the access token: say where the right address comes from. */
import type { ReactElement } from 'react';

import { missingCaseError } from '../../hisp/api/index.js';

import type { TokenProblem } from './token.js';

function problemText(problem: TokenProblem | 'missing'): string | undefined {
  switch (problem) {
    case 'missing':
      return undefined;
    case 'malformed':
      return 'The address that was used has a token that is not valid. It may have been cut off when it was copied.';
    case 'duplicate':
      return 'The address that was used has more than one token, so none was used.';
    case 'too-long':
      return 'The address that was used is longer than any address Sealpost prints.';
    default:
      throw missingCaseError(problem);
  }
}

export function NoToken({ problem }: { problem: TokenProblem | 'missing' }): ReactElement {
  const detail = problemText(problem);
  return (
    <section className="notice" data-testid="no-token" data-problem={problem}>
      <h2 className="notice-title">Open Sealpost from the address it printed</h2>
      <p>
        This page needs the access token that Sealpost hands out when it starts. Open Sealpost from
        the address that the <code>sealpost demo</code> or <code>sealpost serve</code> command
        printed: that address carries the token, after <code>#token=</code>.
      </p>
      {detail !== undefined && <p>{detail}</p>}
      <p className="muted">
        The token never leaves this computer: it is not sent in the address to the server, and it is
        removed from the address bar as soon as the page has read it.
      </p>
    </section>
  );
}
