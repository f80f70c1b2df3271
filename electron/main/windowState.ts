/**
 * The mail window's size and place, kept between runs in a small JSON file in userData
 * (window-state.json), and checked against the displays on restore: a window saved on a
 * monitor that is gone, or larger than the screen now, must not open out of reach.
 *
 * Pure decisions plus a load/save pair on injected file functions; no `electron` import.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/** A rectangle in screen coordinates, as Electron gives bounds and work areas. */
export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** What is saved. */
export interface WindowState {
  readonly bounds: Rect;
  readonly maximized: boolean;
}

export const WINDOW_STATE_FILE = 'window-state.json';

/** The window's default and smallest size (main.ts uses the same numbers). */
export const WINDOW_SIZE = { width: 1200, height: 800, minWidth: 640, minHeight: 480 } as const;

/** How much of the window's top strip (its title bar) must be on a display to count as reachable. */
const VISIBLE_TITLE_WIDTH = 100;
const TITLE_BAR_HEIGHT = 32;

const Coordinate = z.number().int().min(-100_000).max(100_000);
const Extent = z.number().int().min(1).max(100_000);

const WindowStateSchema = z.strictObject({
  bounds: z.strictObject({ x: Coordinate, y: Coordinate, width: Extent, height: Extent }),
  maximized: z.boolean(),
});

/** The saved state in `text`, or undefined if it is not one (a damaged file is ignored). */
export function parseWindowState(text: string): WindowState | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const result = WindowStateSchema.safeParse(json);
  return result.success ? result.data : undefined;
}

function overlap(a: Rect, b: Rect): { width: number; height: number } {
  const width = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const height = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return { width: Math.max(0, width), height: Math.max(0, height) };
}

/**
 * Where to open the window: the saved bounds when enough of its title bar is on one of
 * `workAreas` (shrunk to fit that display if it is too large), else undefined bounds (the
 * default size, centred by Electron on the primary display). `maximized` is kept either way.
 */
export function restoreWindowState(
  saved: WindowState | undefined,
  workAreas: readonly Rect[],
): { readonly bounds: Rect | undefined; readonly maximized: boolean } {
  if (saved === undefined) return { bounds: undefined, maximized: false };
  const { bounds } = saved;
  const titleBar: Rect = {
    x: bounds.x,
    y: bounds.y,
    width: bounds.width,
    height: TITLE_BAR_HEIGHT,
  };
  const home = workAreas.find((area) => {
    const seen = overlap(titleBar, area);
    return (
      seen.width >= Math.min(VISIBLE_TITLE_WIDTH, bounds.width) &&
      seen.height >= Math.min(TITLE_BAR_HEIGHT, bounds.height) &&
      // The top edge itself on the display: a title bar above the screen cannot be grabbed.
      bounds.y >= area.y
    );
  });
  if (home === undefined) return { bounds: undefined, maximized: saved.maximized };
  const width = Math.max(WINDOW_SIZE.minWidth, Math.min(bounds.width, home.width));
  const height = Math.max(WINDOW_SIZE.minHeight, Math.min(bounds.height, home.height));
  // Pulled back onto the display if the shrink or the old place left it hanging off an edge.
  const x = Math.min(Math.max(bounds.x, home.x), home.x + Math.max(0, home.width - width));
  const y = Math.min(Math.max(bounds.y, home.y), home.y + Math.max(0, home.height - height));
  return { bounds: { x, y, width, height }, maximized: saved.maximized };
}

/** File access for load/save, for tests. */
export interface WindowStateFiles {
  readFile(path: string): Promise<string>;
  writeFile(path: string, text: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
}

const nodeFiles: WindowStateFiles = {
  readFile: (path) => readFile(path, 'utf8'),
  writeFile: (path, text) => writeFile(path, text, { mode: 0o600 }),
  rename,
};

/** The state saved in `dir`, or undefined when there is none or it is damaged. */
export async function loadWindowState(
  dir: string,
  files: WindowStateFiles = nodeFiles,
): Promise<WindowState | undefined> {
  try {
    return parseWindowState(await files.readFile(join(dir, WINDOW_STATE_FILE)));
  } catch {
    return undefined;
  }
}

/** Saves `state` in `dir`, replacing the old file in one step (written aside, then renamed). */
export async function saveWindowState(
  dir: string,
  state: WindowState,
  files: WindowStateFiles = nodeFiles,
): Promise<void> {
  const checked = WindowStateSchema.parse({
    bounds: {
      x: Math.round(state.bounds.x),
      y: Math.round(state.bounds.y),
      width: Math.round(state.bounds.width),
      height: Math.round(state.bounds.height),
    },
    maximized: state.maximized,
  });
  const path = join(dir, WINDOW_STATE_FILE);
  const temporary = `${path}.${process.pid}.tmp`;
  await files.writeFile(temporary, `${JSON.stringify(checked)}\n`);
  await files.rename(temporary, path);
}
