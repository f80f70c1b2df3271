/** The HISP's status as reported through the contract: state, identity, components. */
import { useEffect, useState } from 'react';
import type { ReactElement } from 'react';

import type { Status } from '../../hisp/api/index.js';
import {
  componentStateLabel,
  formatUptime,
  modeLabel,
  productLabel,
  stateExplanation,
  stateLabel,
} from './format.js';

export interface StatusSnapshot {
  readonly status: Status;
  /** Date.now() when it arrived: uptime counts on from here without trusting either clock. */
  readonly receivedAt: number;
}

export interface StatusPanelProps {
  readonly snapshot: StatusSnapshot;
  /** The channel closed: what is shown is only the last known status. */
  readonly disconnected: boolean;
}

/** The current time, refreshed every `intervalMs` while `active`. */
function useNow(intervalMs: number, active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs, active]);
  return now;
}

export function StatusPanel({ snapshot, disconnected }: StatusPanelProps): ReactElement {
  const { status, receivedAt } = snapshot;
  const now = useNow(1000, !disconnected);
  const uptimeMs = status.uptimeMs + (disconnected ? 0 : Math.max(0, now - receivedAt));
  const started = new Date(status.startedAt);
  const state = disconnected ? 'disconnected' : status.state;

  return (
    <section
      className="card"
      aria-label={disconnected ? 'Last known status' : 'Current status'}
      data-testid="hisp-status"
      data-disconnected={disconnected ? 'true' : undefined}
    >
      <div className="card-head">
        <p
          className="state"
          role="status"
          aria-live="polite"
          data-testid="hisp-state"
          data-state={state}
        >
          <span className="state-dot" aria-hidden="true" />
          <span className="state-label">
            {disconnected ? 'Disconnected' : stateLabel(status.state)}
          </span>
        </p>
        <p className="state-explanation">
          {disconnected
            ? `Last known state: ${stateLabel(status.state)}.`
            : stateExplanation(status.state)}
        </p>
      </div>

      <dl className="facts">
        <div className="fact">
          <dt>Product</dt>
          <dd>
            <span data-testid="hisp-product">{productLabel(status.product)}</span>{' '}
            <span className="muted" data-testid="hisp-version">
              {status.version}
            </span>
          </dd>
        </div>
        <div className="fact">
          <dt>Mode</dt>
          <dd data-testid="hisp-mode">{modeLabel(status.mode)}</dd>
        </div>
        <div className="fact">
          <dt>Profile</dt>
          <dd>
            <span data-testid="hisp-profile">{status.profile.name}</span>
            {status.profile.throwaway && (
              <span className="tag" title="Deleted when the HISP stops">
                throwaway
              </span>
            )}
          </dd>
        </div>
        <div className="fact">
          <dt>Uptime</dt>
          <dd>
            <span data-testid="hisp-uptime">{formatUptime(uptimeMs)}</span>
            {!Number.isNaN(started.getTime()) && (
              <span className="muted">
                {' '}
                since <time dateTime={status.startedAt}>{started.toLocaleString()}</time>
              </span>
            )}
          </dd>
        </div>
      </dl>

      <h2 className="section-title" id="components-heading">
        Components
      </h2>
      {status.components.length === 0 ? (
        <p className="muted">No components reported.</p>
      ) : (
        <ul
          className="components"
          aria-labelledby="components-heading"
          data-testid="hisp-components"
        >
          {status.components.map((component) => (
            <li
              key={component.name}
              className="component"
              data-testid={`component-${component.name}`}
              data-state={component.state}
            >
              <span className="component-name">{component.name}</span>
              <span className="badge" data-state={component.state}>
                {componentStateLabel(component.state)}
              </span>
              {component.detail !== undefined && (
                <span className="component-detail">{component.detail}</span>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
