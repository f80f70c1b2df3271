/** The reading pane's trust banner: who signed and to which anchor, or why it is not trusted. */
import type { ReactElement } from 'react';

import type { OpenedMessage } from '../../../hisp/api/index.js';
import { ExplanationList } from './ExplanationList.js';
import { explainTrust } from './explain.js';
import { CheckIcon, WarningIcon } from './icons.js';

export function TrustBanner({ message }: { message: OpenedMessage }): ReactElement {
  const statement = explainTrust(message);
  return (
    <section
      className="trust-banner"
      data-trusted={statement.trusted ? 'true' : 'false'}
      data-testid="trust-banner"
      aria-label={statement.trusted ? 'Trusted sender' : 'Not trusted'}
    >
      <p className="trust-headline">
        <span className="trust-icon" aria-hidden="true">
          {statement.trusted ? <CheckIcon /> : <WarningIcon />}
        </span>
        <span data-testid="trust-headline">{statement.headline}</span>
      </p>
      {statement.reasons.length > 0 && <ExplanationList items={statement.reasons} />}
    </section>
  );
}
