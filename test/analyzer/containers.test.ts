import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerOf } from '../../analyzer/load/containers.js';
import { netprov } from '../helpers/cli.js';
import { repoRoot, scratch } from '../helpers/paths.js';

const ID = 'f3a1c0d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1';

describe('containerOf: what a cgroup path says', () => {
  it.each([
    [`/system.slice/docker-${ID}.scope`, { runtime: 'docker', id: ID, podUid: null, systemdUnit: `docker-${ID}.scope` }],
    [`/docker/${ID}`, { runtime: 'docker', id: ID, podUid: null, systemdUnit: null }],
    [
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f1e2d3c_4b5a_6978_8a9b_0c1d2e3f4a5b.slice/cri-containerd-${ID}.scope`,
      { runtime: 'containerd', id: ID, podUid: '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b', systemdUnit: `cri-containerd-${ID}.scope` },
    ],
    [`/kubepods/besteffort/pod0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/${ID}`, { runtime: 'containerd', id: ID, podUid: '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b', systemdUnit: null }],
    [`/kubepods.slice/kubepods-pod0f1e2d3c_4b5a_6978_8a9b_0c1d2e3f4a5b.slice/crio-${ID}.scope`, { runtime: 'cri-o', id: ID, podUid: '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b' }],
    [`/machine.slice/libpod-${ID}.scope/container`, { runtime: 'podman', id: ID, systemdUnit: `libpod-${ID}.scope` }],
    // CRI-O's monitor runs beside the container, not in it.
    [`/kubepods.slice/crio-conmon-${ID}.scope`, { runtime: null, id: null, systemdUnit: `crio-conmon-${ID}.scope` }],
    ['/system.slice/nginx.service', { runtime: null, id: null, podUid: null, systemdUnit: 'nginx.service' }],
    ['/user.slice/user-1000.slice/session-3.scope', { runtime: null, systemdUnit: 'session-3.scope' }],
    ['/', { runtime: null, id: null, podUid: null, systemdUnit: null }],
    [null, { runtime: null, id: null, podUid: null, systemdUnit: null }],
    // A short or non-hex id is not a container's.
    ['/system.slice/docker-abc.scope', { runtime: null, id: null }],
  ])('%s', (path, expected) => {
    expect(containerOf(path)).toMatchObject(expected);
  });
});

describe('a container behind NAT, recorded (fixtures/linux-container)', () => {
  const session = join(repoRoot, 'fixtures/linux-container.npsession');
  const CONTAINER = 'c0ffee00'.repeat(8);

  it('flows: both sides of the translation carry curl and its container; the table shows it', () => {
    const flows = netprov(['flows', session, '--format', 'json']).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(flows.map((f) => [f['id.orig_h'], f.exe, f.attribution_method, f.container_runtime, f.container_id, f.systemd_unit])).toEqual([
      ['10.10.0.2', '/usr/bin/curl', 'socket-event', 'docker', CONTAINER, `docker-${CONTAINER}.scope`],
      ['10.20.0.1', '/usr/bin/curl', 'nat', 'docker', CONTAINER, `docker-${CONTAINER}.scope`],
    ]);
    expect(flows[1].nat_of).toBe(flows[0].uid);
    expect(flows[0].netns).toBeGreaterThan(0); // the container's namespace, not the host's
    const table = netprov(['flows', session, '--format', 'table']).stdout;
    expect(table.split('\n')[0]).toMatch(/attribution_method\s+container\s+dns_name/);
    expect(table).toContain('docker:c0ffee00c0ff');
  });

  it('OCSF: the container object and profile, the NAT evidence under unmapped', async () => {
    const dir = join(scratch(), 'ocsf');
    expect(netprov(['export', session, '--ocsf', dir]).status).toBe(0);
    const events = readFileSync(join(dir, 'network_activity.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const e of events) {
      expect(e.container).toEqual({ uid: CONTAINER, runtime: 'docker' });
      expect(e.metadata.profiles).toEqual(['container']);
      expect(e.actor.process.name).toBe('curl');
    }
    expect(events[1].unmapped.netprov).toMatchObject({ attribution_method: 'nat', nat_of: events[0].metadata.uid, systemd_unit: `docker-${CONTAINER}.scope` });
  });
});
