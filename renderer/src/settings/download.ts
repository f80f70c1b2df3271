/**
 * Handing bytes to the browser as a download (a saved attachment, an audit export): a Blob
 * URL clicked through a link that is removed at once, released a little later.
 */

/** Save `data` under `filename` (already made safe: settings/model.ts safeDownloadName). */
export function saveDownload(data: Blob, filename: string): void {
  const url = URL.createObjectURL(data);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  // Give the browser a moment to start the download before the bytes are released.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
