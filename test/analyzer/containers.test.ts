import { describe, expect, it } from 'vitest';
import { containerOf } from '../../analyzer/load/containers.js';

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
