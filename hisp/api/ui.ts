/**
 * The Content-Security-Policy of the mail UI's pages, wherever they are served from: the
 * loopback bridge sends it as a header, the desktop shell adds it to the app's responses, and
 * renderer/index.html carries it as a <meta> tag (without `frame-ancestors`, which only works
 * as a header; a test keeps the three in step).
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
