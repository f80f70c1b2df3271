/**
 * The few runtime globals the contract uses that exist in every JavaScript runtime Sealpost
 * runs in (Node, Chromium, Electron's utility process and preload). Declared here, minimally,
 * because this project deliberately has neither the DOM nor the Node type libraries: using
 * anything else fails to compile. Consumers see the contract through its emitted .d.ts and
 * their own DOM or Node typings.
 */
interface AbortSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
declare function setTimeout(callback: () => void, ms: number): unknown;
declare function clearTimeout(handle: unknown): void;
declare function queueMicrotask(callback: () => void): void;
declare function structuredClone<T>(value: T): T;
