/**
 * Value lists the contract's schemas are built from and the stores use too: one definition
 * each. Kept free of zod so the stores (and whatever loads them) need not load it.
 */

/** The mailbox folders, in the order the folder pane shows them. */
export const FOLDER_LIST = [
  'inbox',
  'sent',
  'drafts',
  'outbox',
  'untrusted',
  'archive',
  'trash',
] as const;

/** The audit log's actions (hisp/store/audit.ts). */
export const AUDIT_ACTION_LIST = [
  'send',
  'receive',
  'open',
  'attachment-save',
  'export',
  'print',
  'delete',
  'key-import',
  'key-remove',
  'trust-change',
  'profile-export',
  'profile-restore',
  'lock',
  'unlock',
  'audit-export',
  'settings-change',
  'attachment-forward',
] as const;

/**
 * The settings a practice's IT staff can lock in the machine-wide policy file (hisp/host/
 * policy.ts); each one locked is shown as "managed by your organisation" and refused by the
 * HISP when changed.
 */
export const LOCKABLE_SETTING_LIST = [
  'relay',
  'upstream',
  'delivery',
  'autoLock',
  'trustBundles',
  'trustAnchors',
  'autoUpdate',
] as const;
