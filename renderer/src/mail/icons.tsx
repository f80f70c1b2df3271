/**
 * Small line icons drawn in currentColor (decorative: each use sits next to words a screen
 * reader reads). SVG rather than emoji, which many Linux desktops have no font for.
 */
import type { ReactElement } from 'react';

function Icon({ path }: { path: string }): ReactElement {
  return (
    <svg
      className="icon"
      viewBox="0 0 16 16"
      width="14"
      height="14"
      aria-hidden="true"
      focusable="false"
    >
      <path
        d={path}
        fill="none"
        stroke="currentColor"
        strokeWidth="1.6"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
    </svg>
  );
}

export function PaperclipIcon(): ReactElement {
  return (
    <Icon path="M10.5 4.5 5.8 9.2a1.4 1.4 0 0 0 2 2l5-5a2.8 2.8 0 0 0-4-4l-5 5a4.2 4.2 0 0 0 6 6l4.2-4.2" />
  );
}

export function FlagIcon(): ReactElement {
  return <Icon path="M3.5 14.5v-12M3.5 2.5h8l-2 3 2 3h-8" />;
}

export function WarningIcon(): ReactElement {
  return <Icon path="M8 1.8 15 14H1L8 1.8ZM8 6.5v3.2M8 11.8v.2" />;
}

export function CheckIcon(): ReactElement {
  return <Icon path="M2.5 8.5 6 12l7.5-8" />;
}
