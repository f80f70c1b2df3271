/**
 * Desktop notifications for new mail and failed deliveries: the wording and when to show
 * one, pure and unit-tested; main.ts hands them to Electron's Notification through the
 * small Notifier interface.
 *
 * A notification can appear on a locked screen and in the OS's history, where anyone may read
 * it: it says only how many, never a sender, a subject or an address (patient data).
 */
import type { NotifyKind } from './hispProtocol.js';

/** Title and body of one desktop notification. */
export interface DesktopNotification {
  readonly title: string;
  readonly body: string;
}

/** What main needs from the platform: whether notifications work here, and showing one. */
export interface Notifier {
  isSupported(): boolean;
  /** `onClick`: the user clicked it (main brings the window forward). */
  show(notification: DesktopNotification, onClick: () => void): void;
}

/** The notification for `count` events of `kind`. */
export function notificationFor(kind: NotifyKind, count: number): DesktopNotification {
  const many = count > 1;
  switch (kind) {
    case 'new-mail':
      return {
        title: 'Sealpost',
        body: many ? `${count} new secure messages` : 'A new secure message',
      };
    case 'delivery-failed':
      return {
        title: 'Sealpost: delivery failed',
        body: many
          ? `${count} messages could not be delivered. Open Sealpost to see why.`
          : 'A message could not be delivered. Open Sealpost to see why.',
      };
  }
}

/**
 * Whether to show it: not while the user is looking at the mail window (the window shows it
 * already), except a failed delivery, which is always worth the interruption.
 */
export function shouldNotify(kind: NotifyKind, windowFocused: boolean): boolean {
  return kind === 'delivery-failed' || !windowFocused;
}

/** Shows the notification for a notify message if it should be, through `notifier`. */
export function notify(
  notifier: Notifier,
  message: { readonly kind: NotifyKind; readonly count: number },
  windowFocused: boolean,
  onClick: () => void,
): boolean {
  if (!shouldNotify(message.kind, windowFocused) || !notifier.isSupported()) return false;
  notifier.show(notificationFor(message.kind, message.count), onClick);
  return true;
}
