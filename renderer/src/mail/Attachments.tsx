/**
 * An opened message's attachments, each with Save: the bytes are fetched through the
 * contract (`getAttachment`, decrypted in memory and audited by the HISP), handed to the
 * browser as a Blob and saved under the attachment's own file name.
 */
import { useState } from 'react';
import type { ReactElement } from 'react';

import { HispError } from '../../../hisp/api/index.js';
import type { HispClient, OpenedMessage } from '../../../hisp/api/index.js';
import { saveDownload } from '../settings/download.js';
import { safeDownloadName } from '../settings/model.js';
import { base64ToBytes, formatBytes } from './model.js';

export function Attachments({
  client,
  message,
}: {
  client: HispClient;
  message: OpenedMessage;
}): ReactElement | null {
  const [busy, setBusy] = useState<number | undefined>(undefined);
  const [error, setError] = useState<{ index: number; message: string } | undefined>(undefined);
  if (message.attachments.length === 0) return null;

  const save = async (index: number, filename: string, contentType: string): Promise<void> => {
    setBusy(index);
    setError(undefined);
    try {
      const { dataBase64 } = await client.call(
        'getAttachment',
        { id: message.summary.id, index },
        { timeoutMs: 120_000 },
      );
      const blob = new Blob([base64ToBytes(dataBase64)], {
        type: contentType === '' ? 'application/octet-stream' : contentType,
      });
      saveDownload(blob, safeDownloadName(filename, `attachment-${index + 1}`));
    } catch (failure) {
      setError({ index, message: HispError.from(failure).message });
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <section className="attachments" aria-labelledby="attachments-heading">
      <h3 id="attachments-heading" className="section-title">
        Attachments
      </h3>
      <ul className="attachment-list">
        {message.attachments.map((attachment) => (
          <li key={attachment.index} className="attachment" data-testid="attachment">
            <span className="attachment-name">
              {attachment.filename || `attachment-${attachment.index + 1}`}
            </span>
            <span className="muted"> {formatBytes(attachment.size)}</span>{' '}
            <button
              type="button"
              className="button button-small button-secondary"
              disabled={busy === attachment.index}
              aria-label={`Save ${attachment.filename}`}
              onClick={() => {
                // Deliberately not awaited: save() reports its own errors in the pane.
                void save(attachment.index, attachment.filename, attachment.contentType);
              }}
            >
              {busy === attachment.index ? 'Saving…' : 'Save'}
            </button>
            {error?.index === attachment.index && (
              <span className="field-error" role="alert">
                {' '}
                Could not save: {error.message}
              </span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
