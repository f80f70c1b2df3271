/**
 * The compose window (a modal dialog): From, To and Cc with a live certificate check per
 * recipient, subject, plain-text body, attachments by picker or drag-and-drop with the size
 * limit shown, autosaved drafts, and Send (button or Ctrl+Enter). Sending to recipients
 * without a usable certificate is refused here with the reason (the HISP refuses too), and
 * after sending the outcome is shown per recipient: nothing is refused silently.
 *
 * From offers the profile's identities as `identities` lists them: each address-bound one,
 * and each domain-bound one ("@clinic.example": its certificate signs for any address
 * there), for which the user types the part before the @ and the message goes out from that
 * address. A forward brings the original message's attachments: fetched with
 * `getAttachment` when the window opens and attached like picked files (removable, counted
 * against the limits, and named with the reason when they do not fit); Send waits for them.
 */
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import type { DragEvent, KeyboardEvent, ReactElement } from 'react';

import { HispError, LIMITS } from '../../../hisp/api/index.js';
import type { CallResult, Draft, HispClient } from '../../../hisp/api/index.js';
import { ExplanationList } from './ExplanationList.js';
import { explainRecipientCheck } from './explain.js';
import { RecipientField } from './RecipientField.js';
import {
  attachmentBudget,
  base64Size,
  bytesToBase64,
  decideSend,
  domainFromAddress,
  fitAttachments,
  formatBytes,
  forwardedName,
  fromChoices,
  fromChoiceValue,
  parseAddresses,
} from './model.js';
import type { ComposeSeed } from './model.js';
import { useIdentities } from './useMailbox.js';
import { useRecipientChecks } from './useRecipientChecks.js';

/** Pause after the last change before the draft is saved. */
export const AUTOSAVE_MS = 1500;

interface AttachedFile {
  readonly filename: string;
  readonly contentType: string;
  readonly size: number;
  readonly dataBase64: string;
}

/** What the window starts from: empty, a reply or forward, or a saved draft. */
export type ComposeStart =
  | { readonly kind: 'new' }
  | { readonly kind: 'seed'; readonly seed: ComposeSeed }
  | { readonly kind: 'draft'; readonly draft: Draft };

export interface ComposeProps {
  readonly client: HispClient;
  readonly fromAddresses: readonly string[];
  readonly start: ComposeStart;
  /** Closed: `sent` when the message went out (to at least one recipient). */
  readonly onClose: (outcome: { sent: boolean; draftSaved: boolean }) => void;
  /** A sentence for the screen reader's polite live region. */
  readonly announce: (text: string) => void;
}

type SendResult = CallResult<'sendMessage'>;

type Phase =
  | { readonly kind: 'editing' }
  | { readonly kind: 'sending' }
  | { readonly kind: 'result'; readonly result: SendResult };

function initialFields(start: ComposeStart): {
  to: readonly string[];
  cc: readonly string[];
  subject: string;
  text: string;
  inReplyTo: string | undefined;
  attachments: readonly AttachedFile[];
  draftId: number | undefined;
} {
  if (start.kind === 'draft') {
    const d = start.draft;
    return {
      to: d.to,
      cc: d.cc,
      subject: d.subject,
      text: d.text,
      inReplyTo: d.inReplyTo,
      attachments: d.attachments.map((a) => ({ ...a, size: base64Size(a.dataBase64) })),
      draftId: d.id,
    };
  }
  if (start.kind === 'seed') {
    const s = start.seed;
    return {
      to: s.to,
      cc: s.cc,
      subject: s.subject,
      text: s.text,
      inReplyTo: s.inReplyTo,
      attachments: [],
      draftId: undefined,
    };
  }
  return {
    to: [],
    cc: [],
    subject: '',
    text: '',
    inReplyTo: undefined,
    attachments: [],
    draftId: undefined,
  };
}

export function Compose({
  client,
  fromAddresses,
  start,
  onClose,
  announce,
}: ComposeProps): ReactElement {
  const dialog = useRef<HTMLDialogElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const titleId = useId();
  const [initial] = useState(() => initialFields(start));
  const identities = useIdentities(client);
  const choices = fromChoices(
    fromAddresses,
    identities.state === 'ready' ? identities.value : undefined,
  );
  const [fromValue, setFromValue] = useState(fromAddresses[0] ?? '');
  const [fromLocal, setFromLocal] = useState('');
  const [fromLocalTouched, setFromLocalTouched] = useState(false);
  const fromChoice =
    choices.find((choice) => fromChoiceValue(choice) === fromValue) ?? choices[0] ?? undefined;
  const fromDomain = fromChoice?.kind === 'domain' ? fromChoice.domain : undefined;
  const domainFrom =
    fromDomain === undefined ? undefined : domainFromAddress(fromLocal, fromDomain);
  /** The address the message goes out from ('' while a domain-bound From has no valid name). */
  const from =
    fromChoice === undefined
      ? ''
      : fromChoice.kind === 'address'
        ? fromChoice.address
        : domainFrom?.ok === true
          ? domainFrom.address
          : '';
  const forwardSource = start.kind === 'seed' ? start.seed.forward : undefined;
  /** The forwarded attachments still being fetched (their names), until they are attached. */
  const [forwarding, setForwarding] = useState<readonly string[]>(() =>
    (forwardSource?.attachments ?? []).map(forwardedName),
  );
  const [to, setTo] = useState(initial.to);
  const [toText, setToText] = useState('');
  const [cc, setCc] = useState(initial.cc);
  const [ccText, setCcText] = useState('');
  const [subject, setSubject] = useState(initial.subject);
  const [text, setText] = useState(initial.text);
  const [attachments, setAttachments] = useState(initial.attachments);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [phase, setPhase] = useState<Phase>({ kind: 'editing' });
  const [dragging, setDragging] = useState(false);
  const [saved, setSaved] = useState<{ at: string } | { error: string } | undefined>(undefined);
  /**
   * Close was asked for while a forward's attachments were still being fetched, with changes
   * to keep: the window closes (saving the draft) once they are in, so the draft has them.
   */
  const [closeWhenForwarded, setCloseWhenForwarded] = useState(false);
  const draftId = useRef(initial.draftId);
  const dirty = useRef(false);
  const saving = useRef<Promise<void> | undefined>(undefined);
  const finished = useRef(false);

  const recipients = [...to, ...cc];
  const { states, checkNow } = useRecipientChecks(client, from, recipients);
  const budget = attachmentBudget(attachments.map((a) => a.size));

  useEffect(() => {
    const element = dialog.current;
    if (element === null || element.open) return;
    element.showModal();
    // showModal() focuses the first control (Close); a new message starts in To, a reply in
    // the text.
    element.querySelector<HTMLElement>('[data-initial-focus]')?.focus();
  }, []);

  // ── Drafts: saved a moment after the last change, the id kept for the next save ─────────
  const saveDraft = useCallback(async (): Promise<void> => {
    if (finished.current) return;
    dirty.current = false;
    const usable = (list: readonly string[]): string[] =>
      list.filter((a) => a.length >= 3 && a.length <= 320).slice(0, 100);
    const id = draftId.current;
    try {
      const answer = await client.call(
        'saveDraft',
        {
          ...(id === undefined ? {} : { id }),
          to: usable(to),
          cc: usable(cc),
          subject: subject.slice(0, 998),
          text,
          ...(initial.inReplyTo === undefined ? {} : { inReplyTo: initial.inReplyTo }),
          attachments: attachments.map(({ filename, contentType, dataBase64 }) => ({
            filename,
            contentType,
            dataBase64,
          })),
        },
        { timeoutMs: 120_000 },
      );
      draftId.current = answer.id;
      setSaved({ at: answer.updatedAt });
    } catch (error) {
      dirty.current = true;
      setSaved({ error: HispError.from(error).message });
    }
  }, [client, to, cc, subject, text, attachments, initial.inReplyTo]);

  const changed = `${to.join(',')}|${cc.join(',')}|${subject}|${text}|${attachments.length}|${budget.total}`;
  const firstRender = useRef(true);
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return undefined;
    }
    dirty.current = true;
    const timer = setTimeout(() => {
      const run = (saving.current ?? Promise.resolve()).then(saveDraft);
      saving.current = run;
      // Deliberately not awaited here: saveDraft() records its own outcome.
      void run;
    }, AUTOSAVE_MS);
    return () => clearTimeout(timer);
  }, [changed, saveDraft]);

  // ── A forward's attachments: fetched once, when the window opens ───────────────────────
  useEffect(() => {
    if (forwardSource === undefined || forwardSource.attachments.length === 0) return undefined;
    const abort = new AbortController();
    const fetchAll = async (): Promise<void> => {
      const named = forwardSource.attachments.map((attachment) => ({
        attachment,
        filename: forwardedName(attachment),
        size: attachment.size,
      }));
      // Judged by the sizes `openMessage` gave, before anything is fetched; the window holds
      // nothing else yet (the picker waits for the forward's attachments).
      const planned = fitAttachments([], named);
      const fetched: AttachedFile[] = [];
      const problems = planned.refused.map(({ reason }) => reason);
      for (const { attachment, filename } of planned.accepted) {
        try {
          const { dataBase64 } = await client.call(
            'getAttachment',
            // Audited as read for a forward, not as saved (the forward is audited as 'send').
            { id: forwardSource.id, index: attachment.index, purpose: 'forward' },
            { timeoutMs: 120_000, signal: abort.signal },
          );
          fetched.push({
            filename,
            contentType: (attachment.contentType === ''
              ? 'application/octet-stream'
              : attachment.contentType
            ).slice(0, 255),
            size: base64Size(dataBase64),
            dataBase64,
          });
        } catch (error) {
          const failure = HispError.from(error);
          if (failure.code === 'CANCELLED' || abort.signal.aborted) return;
          problems.push(`${filename} could not be fetched: ${failure.message}`);
        }
      }
      if (abort.signal.aborted) return;
      // The sizes as fetched are what counts (the listed ones are the HISP's reading too).
      const fitted = fitAttachments([], fetched);
      problems.push(...fitted.refused.map(({ reason }) => reason));
      setAttachments((current) => [...current, ...fitted.accepted]);
      setForwarding([]);
      // Something was left out: stay open so the user reads why, rather than close on it.
      if (problems.length > 0) setCloseWhenForwarded(false);
      if (problems.length > 0) {
        const left =
          problems.length === 1 ? 'One attachment was' : `${problems.length} attachments were`;
        setProblem(`${left} not forwarded: ${problems.join(' ')}`);
        announce(`${left} not forwarded.`);
      } else {
        announce(
          `${fitted.accepted.length === 1 ? 'The original attachment is' : `The ${fitted.accepted.length} original attachments are`} attached.`,
        );
      }
    };
    // Deliberately not awaited: fetchAll() reports its own problems in the window.
    void fetchAll();
    return () => abort.abort();
    // Once, for the message the window was opened on (`start` does not change).
    // eslint-disable-next-line react-hooks/exhaustive-deps -- see above
  }, []);

  // ── Attachments ─────────────────────────────────────────────────────────────────────────
  const addFiles = async (files: readonly File[]): Promise<void> => {
    setProblem(undefined);
    const added: AttachedFile[] = [];
    let total = budget.total;
    for (const file of files) {
      if (attachments.length + added.length >= LIMITS.composeAttachments) {
        setProblem(
          `A message can carry at most ${LIMITS.composeAttachments} attachments; ${file.name} was not added.`,
        );
        break;
      }
      if (total + file.size > LIMITS.composeAttachmentBytes) {
        setProblem(
          `${file.name} (${formatBytes(file.size)}) was not added: the attachments would add up to ${formatBytes(total + file.size)}, more than the ${formatBytes(LIMITS.composeAttachmentBytes)} one message can carry.`,
        );
        continue;
      }
      const bytes = new Uint8Array(await file.arrayBuffer());
      total += file.size;
      added.push({
        filename: (file.name === '' ? 'attachment' : file.name).slice(0, 255),
        contentType: (file.type === '' ? 'application/octet-stream' : file.type).slice(0, 255),
        size: file.size,
        dataBase64: bytesToBase64(bytes),
      });
    }
    if (added.length > 0) {
      setAttachments((current) => [...current, ...added]);
      announce(`${added.length === 1 ? 'One file' : `${added.length} files`} attached.`);
    }
  };

  const onDrop = (event: DragEvent<HTMLDialogElement>): void => {
    event.preventDefault();
    setDragging(false);
    if (phase.kind !== 'editing' || forwarding.length > 0) return;
    // Deliberately not awaited: addFiles() reports its own problems in the window.
    void addFiles([...event.dataTransfer.files]);
  };

  // ── Send ────────────────────────────────────────────────────────────────────────────────
  const send = async (): Promise<void> => {
    if (phase.kind !== 'editing') return;
    setProblem(undefined);
    // Text still in the fields counts, as if the user had pressed Enter.
    const allTo = [...to, ...parseAddresses(toText).filter((a) => !to.includes(a))];
    const allCc = [...cc, ...parseAddresses(ccText).filter((a) => !cc.includes(a))];
    if (allTo.length !== to.length || toText !== '') {
      setTo(allTo);
      setToText('');
    }
    if (allCc.length !== cc.length || ccText !== '') {
      setCc(allCc);
      setCcText('');
    }
    if (fromChoice === undefined) {
      setProblem('This profile has no Direct address to send from.');
      return;
    }
    if (domainFrom?.ok === false) {
      setFromLocalTouched(true);
      setProblem(`Complete the From address: ${domainFrom.reason}`);
      return;
    }
    if (forwarding.length > 0) {
      setProblem('The original attachments are still being added; send again in a moment.');
      return;
    }
    if (allTo.length === 0) {
      setProblem('Add at least one recipient in To.');
      return;
    }
    if (!budget.fits) {
      setProblem(`The attachments are larger than one message can carry (${budget.text}).`);
      return;
    }
    setPhase({ kind: 'sending' });
    announce('Checking recipients…');
    const checked = await checkNow([...allTo, ...allCc]);
    const decision = decideSend([...allTo, ...allCc], checked);
    if (!decision.ok) {
      setPhase({ kind: 'editing' });
      setProblem(decision.reason);
      announce(decision.reason);
      return;
    }
    finished.current = true;
    await saving.current;
    announce('Sending…');
    try {
      const result = await client.call(
        'sendMessage',
        {
          from,
          to: allTo,
          ...(allCc.length === 0 ? {} : { cc: allCc }),
          subject: subject.slice(0, 998),
          text,
          ...(attachments.length === 0
            ? {}
            : {
                attachments: attachments.map(({ filename, contentType, dataBase64 }) => ({
                  filename,
                  contentType,
                  dataBase64,
                })),
              }),
          ...(initial.inReplyTo === undefined ? {} : { inReplyTo: initial.inReplyTo }),
          ...(draftId.current === undefined ? {} : { draftId: draftId.current }),
        },
        { timeoutMs: 120_000 },
      );
      const queued = result.recipients.filter((r) => r.state === 'queued');
      const refused = result.recipients.filter((r) => r.state === 'refused');
      if (refused.length === 0 && queued.length > 0) {
        announce(`Message sent to ${queued.map((r) => r.address).join(', ')}.`);
        onClose({ sent: true, draftSaved: false });
        return;
      }
      announce(
        queued.length === 0
          ? 'The message was not sent.'
          : `Message sent to ${queued.length} of ${result.recipients.length} recipients; see who was refused and why.`,
      );
      setPhase({ kind: 'result', result });
    } catch (error) {
      finished.current = false;
      const failure = HispError.from(error);
      setPhase({ kind: 'editing' });
      setProblem(`The message was not sent: ${failure.message}`);
      announce('The message was not sent.');
    }
  };

  const close = async (): Promise<void> => {
    setCloseWhenForwarded(false);
    if (phase.kind === 'result') {
      onClose({ sent: phase.result.id !== undefined, draftSaved: false });
      return;
    }
    if (forwarding.length > 0 && dirty.current && !finished.current) {
      // A draft saved now would lack the forwarded attachments, and the fetch stops with the
      // window: wait for them, then save and close (the effect below).
      setCloseWhenForwarded(true);
      announce('The window closes once the original attachments are in the draft.');
      return;
    }
    if (dirty.current && !finished.current) {
      await (saving.current ?? Promise.resolve()).then(saveDraft);
      if (dirty.current) {
        // Not saved: keep the window (and the text) rather than lose it.
        setProblem(
          'The draft could not be saved, so the window stays open. Try again, or use Discard to throw it away.',
        );
        return;
      }
    }
    finished.current = true;
    onClose({ sent: false, draftSaved: draftId.current !== undefined });
  };

  // The close asked for while a forward's attachments were on their way, once they are in
  // (from a timer, so it runs with this render's attachments and outside the effect).
  useEffect(() => {
    if (!closeWhenForwarded || forwarding.length > 0) return undefined;
    // Deliberately not awaited: close() reports its own outcome in the window.
    const timer = setTimeout(() => void close(), 0);
    return () => clearTimeout(timer);
  });

  const discard = async (): Promise<void> => {
    finished.current = true;
    await saving.current;
    const id = draftId.current;
    if (id !== undefined) {
      try {
        await client.call('deleteDraft', { id });
      } catch (error) {
        setProblem(`The draft could not be deleted: ${HispError.from(error).message}`);
        finished.current = false;
        return;
      }
    }
    announce('Draft discarded.');
    onClose({ sent: false, draftSaved: false });
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDialogElement>): void => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      // Deliberately not awaited: send() reports its own outcome in the window.
      void send();
    }
  };

  const blockedNow = recipients.filter((address) => {
    const state = states.get(address.toLowerCase());
    return (
      state !== undefined &&
      state.kind !== 'checking' &&
      (state.kind === 'error' || state.check.state !== 'found')
    );
  });

  return (
    <dialog
      ref={dialog}
      className="compose"
      aria-labelledby={titleId}
      data-testid="compose"
      data-dragging={dragging ? 'true' : undefined}
      onCancel={(event) => {
        event.preventDefault();
        void close();
      }}
      onKeyDown={onKeyDown}
      onDragOver={(event) => {
        event.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      <div className="compose-head">
        <h2 id={titleId} className="compose-title">
          {start.kind === 'draft'
            ? 'Draft'
            : start.kind === 'seed'
              ? subject || 'New message'
              : 'New message'}
        </h2>
        <button
          type="button"
          className="icon-button"
          aria-label="Close (the draft is kept)"
          onClick={() => void close()}
        >
          ×
        </button>
      </div>

      {phase.kind === 'result' ? (
        <SendOutcome result={phase.result} onClose={() => void close()} />
      ) : (
        <form
          className="compose-form"
          onSubmit={(event) => {
            event.preventDefault();
            void send();
          }}
        >
          <div className="field">
            <label className="field-label" htmlFor={`${titleId}-from`}>
              From
            </label>
            <div className="compose-from">
              <select
                id={`${titleId}-from`}
                className="input"
                value={fromChoice === undefined ? '' : fromChoiceValue(fromChoice)}
                onChange={(event) => setFromValue(event.target.value)}
                data-testid="compose-from"
              >
                {choices.map((choice) => (
                  <option key={fromChoiceValue(choice)} value={fromChoiceValue(choice)}>
                    {choice.kind === 'address' ? choice.address : `Any address @${choice.domain}`}
                  </option>
                ))}
              </select>
              {fromDomain !== undefined && (
                <span className="compose-from-domain">
                  <input
                    id={`${titleId}-from-local`}
                    className="input"
                    type="text"
                    autoComplete="off"
                    spellCheck={false}
                    maxLength={320}
                    placeholder="name"
                    aria-label={`From: the part before @${fromDomain}`}
                    aria-invalid={fromLocalTouched && domainFrom?.ok === false}
                    aria-describedby={
                      fromLocalTouched && domainFrom?.ok === false
                        ? `${titleId}-from-error`
                        : undefined
                    }
                    value={fromLocal}
                    onChange={(event) => setFromLocal(event.target.value)}
                    onBlur={() => setFromLocalTouched(true)}
                    data-testid="compose-from-local"
                  />
                  <span aria-hidden="true">@{fromDomain}</span>
                </span>
              )}
            </div>
            {fromDomain !== undefined && fromLocalTouched && domainFrom?.ok === false && (
              <p
                className="field-error"
                id={`${titleId}-from-error`}
                data-testid="compose-from-error"
              >
                {domainFrom.reason}
              </p>
            )}
          </div>
          <RecipientField
            label="To"
            testId="compose-to"
            addresses={to}
            text={toText}
            states={states}
            initialFocus={start.kind !== 'seed' || start.seed.to.length === 0}
            onChange={(list, value) => {
              setTo(list);
              setToText(value);
            }}
          />
          <RecipientField
            label="Cc"
            testId="compose-cc"
            addresses={cc}
            text={ccText}
            states={states}
            onChange={(list, value) => {
              setCc(list);
              setCcText(value);
            }}
          />
          <div className="field">
            <label className="field-label" htmlFor={`${titleId}-subject`}>
              Subject
            </label>
            <input
              id={`${titleId}-subject`}
              className="input"
              type="text"
              maxLength={998}
              value={subject}
              onChange={(event) => setSubject(event.target.value)}
              data-testid="compose-subject"
            />
          </div>
          <div className="field field-grow">
            <label className="field-label" htmlFor={`${titleId}-body`}>
              Message
            </label>
            <textarea
              id={`${titleId}-body`}
              className="input compose-body"
              value={text}
              onChange={(event) => setText(event.target.value)}
              data-testid="compose-body"
              data-initial-focus={
                start.kind === 'seed' && start.seed.to.length > 0 ? '' : undefined
              }
            />
          </div>

          <div className="compose-attachments" data-testid="compose-attachments">
            <div className="compose-attachments-head">
              <button
                type="button"
                className="button button-small button-secondary"
                disabled={forwarding.length > 0}
                onClick={() => fileInput.current?.click()}
              >
                Attach files…
              </button>
              <input
                ref={fileInput}
                type="file"
                multiple
                hidden
                aria-label="Attach files"
                data-testid="compose-file-input"
                onChange={(event) => {
                  const files = [...(event.target.files ?? [])];
                  event.target.value = '';
                  void addFiles(files);
                }}
              />
              <span
                className="muted"
                data-testid="attachment-budget"
                data-fits={budget.fits ? 'true' : 'false'}
              >
                {budget.text} · or drop files here
              </span>
            </div>
            {forwarding.length > 0 && (
              <p className="muted" role="status" data-testid="compose-forwarding">
                Adding the original{' '}
                {forwarding.length === 1 ? 'attachment' : `${forwarding.length} attachments`}:{' '}
                {forwarding.join(', ')}…
                {closeWhenForwarded && ' The window closes once they are in the draft.'}
              </p>
            )}
            {attachments.length > 0 && (
              <ul className="attachment-list">
                {attachments.map((file, index) => (
                  <li
                    key={`${file.filename}-${index}`}
                    className="attachment"
                    data-testid="compose-attachment"
                  >
                    <span className="attachment-name">{file.filename}</span>
                    <span className="muted"> {formatBytes(file.size)}</span>{' '}
                    <button
                      type="button"
                      className="chip-remove"
                      aria-label={`Remove ${file.filename}`}
                      onClick={() => setAttachments((list) => list.filter((_, i) => i !== index))}
                    >
                      ×
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </div>

          {blockedNow.length > 0 && (
            <p className="notice-inline notice-warn" data-testid="compose-blocked">
              {blockedNow.length === recipients.length
                ? 'No recipient can receive this message yet: see the reasons above.'
                : `${blockedNow.join(', ')} will not receive this message: see the reasons above.`}
            </p>
          )}
          {problem !== undefined && (
            <p className="notice-inline notice-bad" role="alert" data-testid="compose-problem">
              {problem}
            </p>
          )}

          <div className="compose-foot">
            <button
              type="submit"
              className="button"
              disabled={phase.kind === 'sending'}
              data-testid="compose-send"
              title="Send (Ctrl+Enter)"
            >
              {phase.kind === 'sending' ? 'Sending…' : 'Send'}
            </button>
            <button
              type="button"
              className="button button-secondary"
              onClick={() => void discard()}
            >
              Discard
            </button>
            <span className="muted compose-saved" data-testid="draft-status" aria-live="off">
              {saved === undefined
                ? ''
                : 'at' in saved
                  ? `Draft saved ${new Date(saved.at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}`
                  : `Draft not saved: ${saved.error}`}
            </span>
          </div>
        </form>
      )}
    </dialog>
  );
}

/** After Send: who got it and who did not, and why. */
function SendOutcome({
  result,
  onClose,
}: {
  result: SendResult;
  onClose: () => void;
}): ReactElement {
  const queued = result.recipients.filter((r) => r.state === 'queued');
  const refused = result.recipients.filter((r) => r.state === 'refused');
  return (
    <div className="send-outcome" data-testid="send-outcome">
      {queued.length > 0 ? (
        <p>
          Sent to <strong>{queued.map((r) => r.address).join(', ')}</strong>.
        </p>
      ) : (
        <p className="notice-inline notice-bad">The message was not sent to anyone.</p>
      )}
      {refused.length > 0 && (
        <>
          <p>Not sent to:</p>
          <ul className="refused-list">
            {refused.map((r) => (
              <li key={r.address} data-testid="refused-recipient" data-address={r.address}>
                <strong>{r.address}</strong>
                <ExplanationList items={explainRecipientCheck(r.check)} compact />
              </li>
            ))}
          </ul>
        </>
      )}
      <div className="compose-foot">
        <button type="button" className="button" onClick={onClose}>
          Close
        </button>
      </div>
    </div>
  );
}
