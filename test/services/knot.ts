/**
 * A private authoritative DNS server (Debian `knot`): `knotd -c <dir>/knot.conf` on
 * 127.0.0.1@PORT (UDP and TCP, port chosen at run time), zones from zone files in the temp
 * dir, a control socket for `knotc zone-reload`. Ready when every zone answers SOA over TCP.
 *
 * Records are zone-file lines; see certRecordLine / srvRecordLine in dns.ts. Owners may be
 * absolute ("alice.example.test.") or relative to the zone.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { queryTcp } from './dns.js';
import { freeTcpUdpPort, LOOPBACK } from './ports.js';
import { findBinary, run, spawnDaemon, waitUntil, withStartRetries, stopOnce } from './proc.js';
import type { Daemon, ServiceHandle } from './proc.js';
import { makeTempDir } from './tmp.js';

export interface KnotOptions {
  /** Main zone. Default "example.test". */
  zone?: string;
  /** Zone-file lines for the main zone (SOA, NS and ns A are added). */
  records?: readonly string[];
  /** More zones: name -> zone-file lines. */
  extraZones?: Readonly<Record<string, readonly string[]>>;
}

export interface KnotHandle extends ServiceHandle {
  /** UDP and TCP port. */
  readonly port: number;
  /** Main zone name (no trailing dot). */
  readonly zone: string;
  /** All served zones. */
  readonly zones: readonly string[];
  /** Replace a zone's records, bump its serial, reload it and wait until it is served. */
  setRecords(zone: string, records: readonly string[]): Promise<void>;
  /** Current SOA serial of a zone. */
  serial(zone: string): number;
}

function trimDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function zoneText(zone: string, serial: number, records: readonly string[]): string {
  return [
    `$ORIGIN ${zone}.`,
    '$TTL 300',
    `@ IN SOA ns.${zone}. hostmaster.${zone}. ( ${serial} 3600 900 604800 300 )`,
    `@ IN NS ns.${zone}.`,
    `ns IN A ${LOOPBACK}`,
    ...records,
    '',
  ].join('\n');
}

/** Start knotd serving the given zones (~0.05 s). */
export async function startKnot(options: KnotOptions = {}): Promise<KnotHandle> {
  const knotd = findBinary('knotd', 'knot');
  const knotc = findBinary('knotc', 'knot');
  const mainZone = trimDot(options.zone ?? 'example.test');
  const zoneRecords = new Map<string, readonly string[]>([[mainZone, options.records ?? []]]);
  for (const [name, records] of Object.entries(options.extraZones ?? {}))
    zoneRecords.set(trimDot(name), records);
  const serials = new Map<string, number>();

  const tmp = await makeTempDir('knot');
  const dir = tmp.path;
  try {
    const zonesDir = join(dir, 'zones');
    const runDir = join(dir, 'run');
    await Promise.all([mkdir(zonesDir), mkdir(runDir), mkdir(join(dir, 'db'))]);
    const zonePath = (zone: string): string => join(zonesDir, `${zone}.zone`);
    const writeZone = async (zone: string, records: readonly string[]): Promise<number> => {
      const serial = (serials.get(zone) ?? 0) + 1;
      serials.set(zone, serial);
      await writeFile(zonePath(zone), zoneText(zone, serial, records));
      return serial;
    };
    for (const [zone, records] of zoneRecords) await writeZone(zone, records);
    const socketPath = join(runDir, 'knot.sock');

    const servesSerial = async (port: number, zone: string, serial: number): Promise<boolean> => {
      const answer = await queryTcp(LOOPBACK, port, `${zone}.`, 'SOA', { timeoutMs: 500 });
      const soa = answer.answers?.find((a) => a.type === 'SOA');
      return answer.rcode === 'NOERROR' && soa?.type === 'SOA' && soa.data.serial === serial;
    };

    return await withStartRetries(3, async () => {
      const port = await freeTcpUdpPort();
      const confPath = join(dir, 'knot.conf');
      await writeFile(
        confPath,
        `# Sealpost test knot (generated)
server:
    rundir: "${runDir}"
    listen: ${LOOPBACK}@${port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1

control:
    listen: "${socketPath}"

database:
    storage: "${join(dir, 'db')}"

log:
  - target: stderr
    any: info

template:
  - id: default
    storage: "${zonesDir}"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none

zone:
${[...zoneRecords.keys()].map((z) => `  - domain: ${z}.`).join('\n')}
`,
      );
      const daemon: Daemon = spawnDaemon({ name: 'knot', command: knotd, args: ['-c', confPath] });
      try {
        for (const zone of zoneRecords.keys()) {
          const serial = serials.get(zone) ?? 1;
          await waitUntil(() => servesSerial(port, zone, serial), {
            daemon,
            what: `zone ${zone} SOA over TCP on ${LOOPBACK}:${port}`,
          });
        }
      } catch (err) {
        await daemon.stop();
        throw err;
      }
      const handle: KnotHandle = {
        host: LOOPBACK,
        port,
        dir,
        pid: daemon.pid,
        zone: mainZone,
        zones: [...zoneRecords.keys()],
        output: () => daemon.output(),
        serial: (zone) => serials.get(trimDot(zone)) ?? 0,
        setRecords: async (zoneName, records) => {
          const zone = trimDot(zoneName);
          if (!zoneRecords.has(zone))
            throw new Error(`knot: zone ${zone} is not served (zones: ${handle.zones.join(', ')})`);
          zoneRecords.set(zone, records);
          const serial = await writeZone(zone, records);
          await run(knotc, ['-s', socketPath, 'zone-reload', `${zone}.`]);
          await waitUntil(() => servesSerial(port, zone, serial), {
            daemon,
            what: `zone ${zone} serial ${serial}`,
          });
        },
        stop: stopOnce(() => daemon.stop(), tmp),
      };
      return handle;
    });
  } catch (err) {
    await tmp.remove();
    throw err;
  }
}
