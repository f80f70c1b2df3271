/** Explanations (what happened, what to do, the HISP's detail and code) as a short list. */
import type { ReactElement } from 'react';

import type { Explanation } from './explain.js';

export function ExplanationList({
  items,
  compact = false,
}: {
  items: readonly Explanation[];
  compact?: boolean;
}): ReactElement {
  return (
    <ul className={compact ? 'explanations explanations-compact' : 'explanations'}>
      {items.map((item, index) => (
        <li key={`${item.code}-${index}`} data-code={item.code} data-testid="explanation">
          <span className="explanation-summary">{item.summary}</span>
          {item.fix !== undefined && <span className="explanation-fix"> {item.fix}</span>}
          {!compact && item.detail !== undefined && (
            <details className="explanation-detail">
              <summary>Details</summary>
              {item.detail} <code>{item.code}</code>
            </details>
          )}
        </li>
      ))}
    </ul>
  );
}
