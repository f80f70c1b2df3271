/**
 * Words for what the HISP reports, as pure functions (no DOM, unit-tested in Node). Every
 * switch is exhaustive: a new state in the contract fails to compile here until it has words.
 */
import { missingCaseError } from '../../hisp/api/index.js';
import type { ComponentStatus, Status } from '../../hisp/api/index.js';

export function stateLabel(state: Status['state']): string {
  switch (state) {
    case 'starting':
      return 'Starting';
    case 'ready':
      return 'Ready';
    case 'locked':
      return 'Locked';
    case 'stopping':
      return 'Stopping';
    default:
      throw missingCaseError(state);
  }
}

export function stateExplanation(state: Status['state']): string {
  switch (state) {
    case 'starting':
      return 'The HISP is starting up.';
    case 'ready':
      return 'The HISP is running and ready.';
    case 'locked':
      return 'The HISP is locked. Unlock it to use your mail.';
    case 'stopping':
      return 'The HISP is shutting down.';
    default:
      throw missingCaseError(state);
  }
}

export function modeLabel(mode: Status['mode']): string {
  switch (mode) {
    case 'desktop':
      return 'Desktop';
    case 'server':
      return 'Server';
    case 'demo':
      return 'Demo';
    default:
      throw missingCaseError(mode);
  }
}

export function componentStateLabel(state: ComponentStatus['state']): string {
  switch (state) {
    case 'ok':
      return 'OK';
    case 'degraded':
      return 'Degraded';
    case 'down':
      return 'Down';
    case 'off':
      return 'Off';
    default:
      throw missingCaseError(state);
  }
}

export function productLabel(product: Status['product']): string {
  // The contract pins the product id to 'sealpost'; people read the capitalised name.
  return product.charAt(0).toUpperCase() + product.slice(1);
}

/**
 * A duration for people: the two largest units, e.g. "45 s", "3 min 20 s", "2 h 5 min",
 * "4 d 1 h". Negative or non-finite input reads as "0 s".
 */
export function formatUptime(ms: number): string {
  const totalSeconds = Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 1000) : 0;
  const days = Math.floor(totalSeconds / 86_400);
  const hours = Math.floor((totalSeconds % 86_400) / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
  if (minutes > 0) return seconds > 0 ? `${minutes} min ${seconds} s` : `${minutes} min`;
  return `${seconds} s`;
}
