/**
 * The mail window's shell: connects to the HISP, then shows the three-pane mail window
 * (mail/MailApp.tsx) when the profile has a Direct address to send from, or the HISP's
 * status page when it has none (a HISP without a mailbox, a profile without an identity)
 * or the connection failed. The status page stays one click away in the mail window.
 * Everything it knows comes through the contract: `status` once connected, then the
 * `status` event whenever it changes; `identities` decides which view (read again after each
 * unlock). The first `identities` and the mail window's first screen (the Inbox's first page,
 * the folder counts: mail/useMailbox.ts, prefetchFirstScreen) are asked for in the same turn
 * as `status`, as soon as the channel is open: one round trip before the first rows instead
 * of two, and none waits for a render; the first screen is dropped if there is no mail.
 * While the status says `locked`, the lock screen (lock/LockScreen.tsx) replaces the
 * whole window: the mail view is unmounted, so nothing decrypted stays in its state.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ReactElement, ReactNode } from 'react';

import { HispError } from '../../hisp/api/index.js';
import type { CallResult, HispClient, Status } from '../../hisp/api/index.js';
import type { ConnectablePlan, ConnectionPlan } from './connection.js';
import { ErrorNotice } from './ErrorNotice.js';
import { LockScreen } from './lock/LockScreen.js';
import { rememberKeySource } from './lock/profileLock.js';
import type { KeySourceKind } from './lock/profileLock.js';
import { MailApp } from './mail/MailApp.js';
import { prefetchFirstScreen } from './mail/useMailbox.js';
import type { FirstScreen } from './mail/useMailbox.js';
import { NoToken } from './NoToken.js';
import { StatusPanel } from './StatusPanel.js';
import type { StatusSnapshot } from './StatusPanel.js';

export interface AppProps {
  /** How to connect, decided before the first render. */
  readonly initialPlan: ConnectionPlan;
  readonly open: (plan: ConnectablePlan, signal: AbortSignal) => Promise<HispClient>;
  /** Tells the app about a new plan (a new address pasted into this tab); returns an unsubscribe. */
  readonly watchPlans?: (listener: (plan: ConnectionPlan) => void) => () => void;
}

type Phase =
  | { readonly kind: 'connecting' }
  | { readonly kind: 'failed'; readonly error: HispError }
  | { readonly kind: 'connected' }
  | { readonly kind: 'lost'; readonly error: HispError };

export function App({ initialPlan, open, watchPlans }: AppProps): ReactElement {
  // `generation` remounts the connection view for each new plan, so no state carries over.
  const [{ plan, generation }, setCurrent] = useState({ plan: initialPlan, generation: 0 });
  useEffect(
    () =>
      watchPlans?.((next) =>
        setCurrent((current) => ({ plan: next, generation: current.generation + 1 })),
      ),
    [watchPlans],
  );

  if (plan.kind === 'no-token') {
    return (
      <StatusShell>
        <NoToken problem={plan.problem} />
      </StatusShell>
    );
  }
  if (plan.kind === 'unusable') {
    return (
      <StatusShell>
        <ErrorNotice title="This window cannot reach the HISP" error={plan.error} />
      </StatusShell>
    );
  }
  return <Connected key={generation} plan={plan} open={open} />;
}

function Masthead(): ReactElement {
  return (
    <>
      <SealMark />
      <span className="masthead-name">Sealpost</span>
      <span className="masthead-tagline">Direct secure messaging</span>
    </>
  );
}

/** The status page's layout: the masthead and one main column titled "HISP status". */
function StatusShell({ children }: { children: ReactNode }): ReactElement {
  return (
    <div className="app">
      <header className="masthead">
        <Masthead />
      </header>
      <main className="page" aria-labelledby="page-title">
        <h1 id="page-title">HISP status</h1>
        {children}
      </main>
    </div>
  );
}

/** Which view a connected window shows: decided by the profile's identities. */
type MailGate =
  | { readonly kind: 'checking' }
  | {
      readonly kind: 'mail';
      readonly fromAddresses: readonly string[];
      /** Asked for with the identities, if the mail window was not shown yet. */
      readonly firstScreen?: FirstScreen | undefined;
    }
  | { readonly kind: 'no-mail'; readonly reason: string };

function Connected({
  plan,
  open,
}: {
  plan: ConnectablePlan;
  open: AppProps['open'];
}): ReactElement {
  const [phase, setPhase] = useState<Phase>({ kind: 'connecting' });
  const [snapshot, setSnapshot] = useState<StatusSnapshot | undefined>(undefined);
  const [callError, setCallError] = useState<HispError | undefined>(undefined);
  const [client, setClient] = useState<HispClient | undefined>(undefined);
  const [gate, setGate] = useState<MailGate>({ kind: 'checking' });
  /** Where the profile's key is, as last seen in an unlocked status (the lock screen asks). */
  const [keySource, setKeySource] = useState<KeySourceKind>('unknown');
  // The channel is ordered, so whatever arrives last (call answer or event) is newest.
  const receive = useCallback((status: Status): void => {
    setSnapshot({ status, receivedAt: Date.now() });
    setKeySource((previous) => rememberKeySource(previous, status));
  }, []);
  const locked = snapshot?.status.state === 'locked';
  /** Changes when settings imported an identity: the sending addresses are read again. */
  const [identitiesVersion, setIdentitiesVersion] = useState(0);
  const identitiesChanged = useCallback(() => setIdentitiesVersion((v) => v + 1), []);

  /** The first gate check's calls, started as soon as the channel is open. */
  const early = useRef<GateCheck | undefined>(undefined);

  useEffect(() => {
    const abort = new AbortController();
    const unsubscribe: Array<() => void> = [];
    let client: HispClient | undefined;

    const run = async (): Promise<void> => {
      let connected: HispClient;
      try {
        connected = await open(plan, abort.signal);
      } catch (error) {
        if (!abort.signal.aborted) setPhase({ kind: 'failed', error: HispError.from(error) });
        return;
      }
      if (abort.signal.aborted) {
        connected.close();
        return;
      }
      client = connected;
      unsubscribe.push(connected.on('status', receive));
      unsubscribe.push(
        connected.onClose(() => setPhase({ kind: 'lost', error: new HispError('CHANNEL_CLOSED') })),
      );
      setPhase({ kind: 'connected' });
      setClient(connected);
      const status = connected.call('status', {}, { signal: abort.signal });
      // In the same turn, not after React has rendered the connected view: `identities` and
      // the mail window's first screen (taken by the check below, or dropped there).
      early.current = startGateCheck(connected, abort.signal, true);
      try {
        receive(await status);
        setCallError(undefined);
      } catch (error) {
        const failure = HispError.from(error);
        // A closed channel is reported by onClose; a cancelled call means we are unmounting.
        if (!abort.signal.aborted && failure.code !== 'CHANNEL_CLOSED') setCallError(failure);
      }
    };
    // Deliberately not awaited: an effect cannot be async, and run() handles its own errors.
    void run();

    return () => {
      abort.abort();
      for (const stop of unsubscribe) stop();
      early.current?.firstScreen?.dispose();
      early.current = undefined;
      client?.close();
    };
  }, [plan, open, receive]);

  /** Whether the mail window has been shown (it then reads its own first screen). */
  const mailShown = useRef(false);
  useEffect(() => {
    if (gate.kind === 'mail') mailShown.current = true;
  }, [gate.kind]);

  // Which view: read once connected, again after each unlock (nothing is readable while
  // locked) and after an identity import.
  useEffect(() => {
    // The first check's calls went out with the connection (run above): taken once.
    const first = early.current;
    early.current = undefined;
    if (client === undefined || locked) {
      first?.firstScreen?.dispose();
      return undefined;
    }
    const abort = new AbortController();
    const { answer, firstScreen } =
      first?.client === client ? first : startGateCheck(client, abort.signal, !mailShown.current);
    const check = async (): Promise<void> => {
      try {
        const { identities } = await answer;
        if (abort.signal.aborted) return;
        // A domain-bound identity ("@domain") is offered too: compose asks for the name before @.
        const fromAddresses = identities.map((identity) => identity.address);
        if (fromAddresses.length === 0) firstScreen?.dispose();
        setGate(
          fromAddresses.length > 0
            ? { kind: 'mail', fromAddresses, firstScreen }
            : {
                kind: 'no-mail',
                reason:
                  'This profile has no Direct address to send from yet. Import an identity with `sealpost profile import-key`, then restart.',
              },
        );
      } catch (error) {
        firstScreen?.dispose();
        const failure = HispError.from(error);
        if (!abort.signal.aborted && failure.code !== 'CHANNEL_CLOSED') {
          setGate({ kind: 'no-mail', reason: failure.message });
        }
      }
    };
    // Deliberately not awaited: check() handles its own errors.
    void check();
    return () => {
      abort.abort();
      firstScreen?.dispose();
    };
  }, [client, locked, identitiesVersion]);

  const lost =
    phase.kind === 'lost' ? (
      <ErrorNotice
        title="The connection to the HISP was lost"
        error={phase.error}
        hint="The HISP may have stopped. Once it is running again, reload this page."
        testId="connection-lost"
        showWhoFixes={false}
        action={<ReloadButton />}
      />
    ) : undefined;
  const statusView =
    snapshot !== undefined && (phase.kind === 'connected' || phase.kind === 'lost') ? (
      <StatusPanel snapshot={snapshot} disconnected={phase.kind === 'lost'} />
    ) : undefined;

  const banner = lost === undefined ? undefined : <div className="mail-banner">{lost}</div>;
  if (client !== undefined && locked) {
    return (
      <LockScreen
        client={client}
        keySource={keySource}
        masthead={<Masthead />}
        onUnlocked={receive}
        banner={banner}
      />
    );
  }
  if (client !== undefined && gate.kind === 'mail') {
    return (
      <MailApp
        client={client}
        fromAddresses={gate.fromAddresses}
        masthead={<Masthead />}
        statusView={statusView}
        status={snapshot?.status}
        onStatus={receive}
        onIdentitiesChanged={identitiesChanged}
        banner={banner}
        firstScreen={gate.firstScreen}
      />
    );
  }

  return (
    <StatusShell>
      {gate.kind === 'no-mail' && (phase.kind === 'connected' || phase.kind === 'lost') && (
        <p className="notice notice-quiet" data-testid="no-mail">
          Mail is not available here: {gate.reason}
        </p>
      )}
      {phase.kind === 'connecting' && (
        <p
          className="notice notice-quiet"
          role="status"
          aria-live="polite"
          data-testid="connecting"
        >
          Connecting to the HISP…
        </p>
      )}
      {phase.kind === 'failed' && (
        <ErrorNotice
          title="Sealpost could not connect to the HISP"
          error={phase.error}
          testId="connection-error"
          showWhoFixes={phase.error.code !== 'CHANNEL_CLOSED'}
          action={<ReloadButton />}
        />
      )}
      {lost}
      {callError !== undefined && (
        <ErrorNotice
          title="The HISP could not report its status"
          error={callError}
          testId="status-error"
        />
      )}
      {statusView}
    </StatusShell>
  );
}

/** The calls that decide the view: `identities`, and with it the mail's first screen. */
interface GateCheck {
  readonly client: HispClient;
  readonly answer: Promise<CallResult<'identities'>>;
  readonly firstScreen: FirstScreen | undefined;
}

/** Ask for the identities and (if `prefetch`) the first screen, in this turn. */
function startGateCheck(client: HispClient, signal: AbortSignal, prefetch: boolean): GateCheck {
  const answer = client.call('identities', {}, { signal });
  // Awaited by the check that takes it; one never taken must not be "unhandled".
  answer.catch(() => undefined);
  return { client, answer, firstScreen: prefetch ? prefetchFirstScreen(client) : undefined };
}

function ReloadButton(): ReactElement {
  return (
    <button type="button" className="button" onClick={() => window.location.reload()}>
      Reload
    </button>
  );
}

function SealMark(): ReactElement {
  // A wax seal over an envelope flap, drawn in currentColor: decorative only.
  return (
    <svg
      className="masthead-mark"
      viewBox="0 0 32 32"
      width="28"
      height="28"
      aria-hidden="true"
      focusable="false"
    >
      <rect
        x="3"
        y="8"
        width="26"
        height="18"
        rx="3"
        fill="none"
        stroke="currentColor"
        strokeWidth="2"
      />
      <path
        d="M4 10l12 9 12-9"
        fill="none"
        stroke="currentColor"
        strokeWidth="2"
        strokeLinejoin="round"
      />
      <circle cx="16" cy="19" r="5" className="masthead-seal" />
    </svg>
  );
}
