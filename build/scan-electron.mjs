// The static Electron security scan (`npm run scan:electron`): Doyensec's Electronegativity
// over electron/ (the main process and the preload, as written), failing on any finding at
// error level.
//
// Error level: a finding the tool is sure of (not marked "review required") with severity
// MEDIUM or HIGH. Findings marked "review required" and LOW or INFORMATIONAL ones are printed
// as notes with the reason they are acceptable looked up in REVIEWED below; a note that is
// not listed there fails the scan too, so a new one is looked at rather than scrolled past.
// A file the scanner cannot parse fails the scan (unscanned code is not clean code).
//
// Offline: the check that downloads Electron's release list (AVAILABLE_SECURITY_FIXES) is
// left out; Electronegativity also tries to fetch updated translations of its messages
// (one second, then it goes on with its own), which changes only the wording.
import run from '@doyensec/electronegativity';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const input = join(root, 'electron');

/** Review-required findings looked at, by check id and file, with why they are fine. */
const REVIEWED = {
  'OPEN_EXTERNAL_JS_CHECK main/main.ts':
    'shell.openExternal gets only the parsed https: URL from externalLinkDecision (windowPolicy.ts), tested with tricky URLs',
  'CSP_GLOBAL_CHECK main/windowPolicy.ts':
    'the CSP is built in hisp/api/ui.ts, which the scanner cannot evaluate; its value is pinned by electron-window-policy.test.ts',
};

const electronVersion = JSON.parse(
  await readFile(join(root, 'node_modules', 'electron', 'package.json'), 'utf8'),
).version;

const started = Date.now();
const result = await run({
  input,
  isRelative: true,
  electronVersionOverride: electronVersion,
  // Its class name, as the tool matches exclusions: the check that downloads release data.
  excludeFromScan: ['availablesecurityfixesglobalcheck'],
});

const errorLevel = (issue) =>
  !issue.manualReview && ['MEDIUM', 'HIGH'].includes(issue.severity.name);
const where = (issue) => `${issue.file}:${issue.location.line}:${issue.location.column}`;

let failed = false;
for (const error of result.errors) {
  if (error.tolerable) continue;
  failed = true;
  console.error(`scan:electron: could not parse ${error.file}: ${error.message}`);
}
for (const issue of result.issues) {
  const label = `${issue.id} ${issue.severity.name}/${issue.confidence.name} ${where(issue)}`;
  if (errorLevel(issue)) {
    failed = true;
    console.error(`ERROR ${label}: ${issue.description}`);
    continue;
  }
  const reviewed = REVIEWED[`${issue.id} ${issue.file}`];
  if (reviewed === undefined) {
    failed = true;
    console.error(
      `UNREVIEWED ${label}: ${issue.description} (add it to REVIEWED in build/scan-electron.mjs with the reason, or fix it)`,
    );
  } else {
    console.log(`note ${label}: ${reviewed}`);
  }
}
console.log(
  `scan:electron: ${result.atomicChecks + result.globalChecks} checks, Electron ${electronVersion}, ${result.issues.length} finding(s), ${failed ? 'FAILED' : 'no finding at error level'} (${Date.now() - started} ms)`,
);
process.exitCode = failed ? 1 : 0;
