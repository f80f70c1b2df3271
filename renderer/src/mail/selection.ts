/**
 * The message list's selection as a value: which messages are selected (by id, so a new
 * message arriving at the top does not shift it), whether "all" is selected (Ctrl+A over
 * rows that may not be loaded yet), the anchor of a Shift range and the focused row.
 * Pure functions, unit-tested in Node.
 */

export interface Selection {
  readonly ids: ReadonlySet<number>;
  /** Every row of the list (Ctrl+A), loaded or not. */
  readonly all: boolean;
  /** Where a Shift range starts (a row index). */
  readonly anchor: number;
  /** The focused row (a row index): where the arrow keys move from. */
  readonly focus: number;
  /**
   * The focused row was picked before its page arrived (End in a long list): it becomes
   * the selection as soon as its id is known (see `resolvePending`).
   */
  readonly pending?: boolean;
}

export const EMPTY_SELECTION: Selection = { ids: new Set(), all: false, anchor: 0, focus: 0 };

/** A pending pick whose row has loaded, as the selection of that row; else unchanged. */
export function resolvePending(
  selection: Selection,
  idAt: (index: number) => number | undefined,
): Selection {
  if (selection.pending !== true) return selection;
  const id = idAt(selection.focus);
  if (id === undefined) return selection;
  return { ids: new Set([id]), all: false, anchor: selection.anchor, focus: selection.focus };
}

/** How a row was picked: a plain click or arrow, Ctrl (toggle) or Shift (range). */
export interface PickMode {
  readonly toggle: boolean;
  readonly range: boolean;
}

/** Pick the row at `index` (id `id`); `idAt` reads the ids of loaded rows for a range. */
export function pick(
  selection: Selection,
  index: number,
  id: number | undefined,
  mode: PickMode,
  idAt: (index: number) => number | undefined,
): Selection {
  if (mode.range) {
    const from = Math.min(selection.anchor, index);
    const to = Math.max(selection.anchor, index);
    const ids = new Set<number>();
    for (let i = from; i <= to; i += 1) {
      const rowId = idAt(i);
      if (rowId !== undefined) ids.add(rowId);
    }
    return { ids, all: false, anchor: selection.anchor, focus: index };
  }
  if (mode.toggle) {
    const ids = new Set(selection.all ? collectLoaded(selection, idAt) : selection.ids);
    if (id !== undefined) {
      if (ids.has(id)) ids.delete(id);
      else ids.add(id);
    }
    return { ids, all: false, anchor: index, focus: index };
  }
  if (id === undefined)
    return { ids: new Set(), all: false, anchor: index, focus: index, pending: true };
  return { ids: new Set([id]), all: false, anchor: index, focus: index };
}

function collectLoaded(
  selection: Selection,
  idAt: (index: number) => number | undefined,
): number[] {
  // Leaving "all" by Ctrl-click: start from the loaded rows around the focus.
  const ids: number[] = [];
  for (let i = Math.max(0, selection.focus - 500); i <= selection.focus + 500; i += 1) {
    const id = idAt(i);
    if (id !== undefined) ids.push(id);
  }
  return ids;
}

export function selectAll(selection: Selection): Selection {
  return { ...selection, all: true };
}

export function isSelected(selection: Selection, id: number): boolean {
  return selection.all || selection.ids.has(id);
}

/** The one selected message, when exactly one is selected (what the reading pane shows). */
export function single(selection: Selection): number | undefined {
  if (selection.all || selection.ids.size !== 1) return undefined;
  const [id] = selection.ids;
  return id;
}

/** How far `followSelected` looks for the focused message after the list changed. */
const FOLLOW_WINDOW = 100;

/**
 * Keep the focus on the focused message when rows above it came or went (new mail arrives
 * at the top): if the row at `focus` is no longer the one selected message, find that
 * message nearby and move focus and anchor by the same amount.
 */
export function followSelected(
  selection: Selection,
  idAt: (index: number) => number | undefined,
): Selection {
  const id = single(selection);
  if (id === undefined || idAt(selection.focus) === id) return selection;
  for (let distance = 1; distance <= FOLLOW_WINDOW; distance += 1) {
    for (const index of [selection.focus + distance, selection.focus - distance]) {
      if (index >= 0 && idAt(index) === id) {
        const shift = index - selection.focus;
        return { ...selection, focus: index, anchor: Math.max(0, selection.anchor + shift) };
      }
    }
  }
  return selection;
}

/** Keep a row index inside a list of `total` rows. */
export function clampIndex(index: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(Math.max(0, index), total - 1);
}
