/**
 * Test-services harness: real Dovecot, knot, slapd and gnome-keyring on 127.0.0.1 with ports
 * chosen at run time, data in temp dirs, stopped by PID. See README.md in this directory.
 */
export { ServiceUnavailableError, ServiceStartError, CommandError } from './errors.js';
export {
  findBinary,
  requireFile,
  run,
  spawnDaemon,
  sleep,
  waitUntil,
  waitForPort,
  waitForOutput,
  canConnect,
  withStartRetries,
  runToEnd,
} from './proc.js';
export type {
  Daemon,
  DaemonOptions,
  ExitInfo,
  RunOptions,
  RunResult,
  RunToEndResult,
  ServiceHandle,
  WaitOptions,
} from './proc.js';
export { LOOPBACK, freePort, freePorts, freeTcpUdpPort } from './ports.js';
export { makeTempDir } from './tmp.js';
export type { TempDir } from './tmp.js';
export { createTestCa, issueEndEntityCert, createSelfSignedServerCert } from './certs.js';
export type {
  CertFiles,
  TestCa,
  TestEndEntity,
  CaOptions,
  EndEntityOptions,
  ServerCertOptions,
} from './certs.js';
export {
  queryUdp,
  queryTcp,
  parseCertRdata,
  certRecordLine,
  srvRecordLine,
  runKdig,
  CERT_TYPES,
} from './dns.js';
export type {
  CertRdata,
  CertRecordOptions,
  CertTypeName,
  DnsQueryOptions,
  DnsResponse,
} from './dns.js';
export { startDovecot } from './dovecot.js';
export type { DovecotHandle, DovecotOptions } from './dovecot.js';
export { startKnot } from './knot.js';
export type { KnotHandle, KnotOptions } from './knot.js';
export { startSlapd, personLdif } from './slapd.js';
export type { SlapdHandle, SlapdOptions } from './slapd.js';
export { startKeyring } from './keyring.js';
export type { KeyringHandle, KeyringOptions } from './keyring.js';
