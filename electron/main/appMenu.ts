/**
 * The application menu: the platform's standard menus built from Electron roles, so every
 * accelerator is the one users expect (Cmd/Ctrl+C, V, X, Z, A, Q, W, M, zoom, full screen).
 * Pure: returns the template, which main.ts hands to Menu.buildFromTemplate; only a type is
 * imported from `electron`, so it is unit-tested in plain Node.
 *
 * Mail commands (new message Ctrl+N, reply, …) are not here: the mail window handles its own
 * keyboard shortcuts, and the only channel between main and the page is the MessagePort to
 * the HISP (no command IPC), which keeps the page's surface as small as it is.
 *
 * Reload and DevTools exist only in an unpackaged development run: a reload loses what is
 * being written, and DevTools in a clinic's installed app would show message content.
 */
import type { MenuItemConstructorOptions } from 'electron';

export interface MenuOptions {
  readonly platform: NodeJS.Platform;
  /** The product name shown in the macOS app menu. */
  readonly appName: string;
  /** A development run (not packaged): adds Reload and Toggle DevTools. */
  readonly development: boolean;
}

const separator: MenuItemConstructorOptions = { type: 'separator' };

/** The menu template for `options.platform`. */
export function buildMenuTemplate(options: MenuOptions): MenuItemConstructorOptions[] {
  const mac = options.platform === 'darwin';
  const menus: MenuItemConstructorOptions[] = [];

  if (mac) {
    menus.push({
      label: options.appName,
      submenu: [
        { role: 'about' },
        separator,
        { role: 'services' },
        separator,
        { role: 'hide' },
        { role: 'hideOthers' },
        { role: 'unhide' },
        separator,
        { role: 'quit' },
      ],
    });
  }

  menus.push({
    label: '&File',
    submenu: mac ? [{ role: 'close' }] : [{ role: 'close' }, separator, { role: 'quit' }],
  });

  menus.push({
    label: '&Edit',
    submenu: [
      { role: 'undo' },
      { role: 'redo' },
      separator,
      { role: 'cut' },
      { role: 'copy' },
      { role: 'paste' },
      { role: 'pasteAndMatchStyle' },
      { role: 'delete' },
      separator,
      { role: 'selectAll' },
    ],
  });

  const view: MenuItemConstructorOptions[] = [
    { role: 'resetZoom' },
    { role: 'zoomIn' },
    { role: 'zoomOut' },
    separator,
    { role: 'togglefullscreen' },
  ];
  if (options.development) {
    view.unshift({ role: 'reload' }, { role: 'toggleDevTools' }, separator);
  }
  menus.push({ label: '&View', submenu: view });

  menus.push({
    label: '&Window',
    role: 'windowMenu',
    submenu: mac
      ? [{ role: 'minimize' }, { role: 'zoom' }, separator, { role: 'front' }]
      : [{ role: 'minimize' }, { role: 'close' }],
  });

  return menus;
}
