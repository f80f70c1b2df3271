/**
 * A sent message's delivery, per recipient, step by step (queued, relayed, processed,
 * dispatched, failed, timed out), each failure explained. The reading pane refreshes it on
 * the `delivery` event.
 */
import type { ReactElement } from 'react';

import type { DeliveryRecipient } from '../../../hisp/api/index.js';
import { ExplanationList } from './ExplanationList.js';
import { deliveryStepLabel, explainDeliveryStep } from './explain.js';
import { formatFullDate } from './model.js';

function currentState(recipient: DeliveryRecipient): string {
  if (recipient.notification !== undefined && recipient.notification !== 'pending') {
    return recipient.notification;
  }
  if (recipient.queue === 'failed') return 'failed';
  return recipient.queue ?? 'pending';
}

export function DeliveryTimeline({
  recipients,
}: {
  recipients: readonly DeliveryRecipient[];
}): ReactElement {
  return (
    <section
      className="delivery"
      aria-labelledby="delivery-heading"
      data-testid="delivery-timeline"
    >
      <h3 id="delivery-heading" className="section-title">
        Delivery
      </h3>
      {recipients.length === 0 ? (
        <p className="muted">No delivery information yet.</p>
      ) : (
        <ul className="delivery-recipients">
          {recipients.map((recipient) => (
            <li
              key={recipient.recipient}
              className="delivery-recipient"
              data-testid="delivery-recipient"
              data-recipient={recipient.recipient}
              data-state={currentState(recipient)}
            >
              <p className="delivery-address">{recipient.recipient}</p>
              <ol className="delivery-steps">
                {recipient.steps.map((step, index) => {
                  const why = explainDeliveryStep(step);
                  return (
                    <li
                      key={`${step.state}-${index}`}
                      className="delivery-step"
                      data-state={step.state}
                      data-testid="delivery-step"
                    >
                      <span className="delivery-step-label">{deliveryStepLabel(step.state)}</span>{' '}
                      <time className="muted" dateTime={step.at}>
                        {formatFullDate(step.at)}
                      </time>
                      {why !== undefined && <ExplanationList items={[why]} compact />}
                    </li>
                  );
                })}
                {(recipient.notification === 'pending' || recipient.notification === undefined) &&
                  recipient.queue !== 'failed' && (
                    <li className="delivery-step delivery-step-waiting" data-state="waiting">
                      <span className="muted">Waiting for the recipient’s HISP to confirm…</span>
                    </li>
                  )}
              </ol>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
