/**
 * The Content-Security-Policy of the mail UI's pages, wherever they are served from: the
 * loopback bridge sends it as a header, the desktop shell adds it to the app's responses, and
 * renderer/index.html carries it as a <meta> tag (without `frame-ancestors`, which only works
 * as a header; a test keeps the three in step).
 *
 * `style-src` allows inline styles for one reason: HTML mail is shown in an
 * `<iframe sandbox="" srcdoc>` (renderer/src/mail/MessageBody.tsx), and a srcdoc document
 * inherits this policy, so without `'unsafe-inline'` every message would lose its inline
 * styles (a second policy can only tighten, never loosen). This is sound because the main
 * document never receives attacker HTML: the renderer renders message text through React
 * text nodes and message HTML only into the sandboxed srcdoc (a unit test,
 * test/unit/renderer-safe-html.test.ts, keeps HTML sinks out of renderer/src), and CSS
 * cannot fetch anything here: every fetch directive stays 'self' or 'none', and the frame
 * adds its own stricter policy (img-src data: only).
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
