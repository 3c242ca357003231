/**
 * What a cgroup v2 path says about where a process ran: the container runtime and container id,
 * a Kubernetes pod's UID, and the systemd unit. Read from the path's components alone, as the
 * runtimes name them (no runtime is asked: the recording may be from another host):
 *   Docker       /system.slice/docker-<id>.scope (systemd driver), /docker/<id> (cgroupfs)
 *   containerd   .../cri-containerd-<id>.scope (Kubernetes, systemd driver), /kubepods/<qos>/pod<uid>/<id> (cgroupfs)
 *   CRI-O        .../crio-<id>.scope, .../crio-conmon-<id>.scope is its monitor (not in the container)
 *   Podman       .../libpod-<id>.scope, /machine.slice/libpod-<id>.scope/container
 * A Kubernetes pod UID is written with `_` for `-` in systemd slice names; it is given with dashes.
 */

export interface ContainerIdentity {
  /** docker | containerd | cri-o | podman; null outside a container. */
  runtime: string | null;
  /** The full 64-hex container id. */
  id: string | null;
  /** Kubernetes pod UID (dashed). */
  podUid: string | null;
  /** The innermost systemd unit (`nginx.service`, `docker-<id>.scope`, `session-3.scope`). */
  systemdUnit: string | null;
}

const CONTAINER_ID = '([0-9a-f]{64})';
/** A component naming a container, by the runtime that names it so. */
const scopes: [runtime: string, pattern: RegExp][] = [
  ['docker', new RegExp(`^docker-${CONTAINER_ID}\\.scope$`)],
  ['containerd', new RegExp(`^cri-containerd-${CONTAINER_ID}\\.scope$`)],
  ['cri-o', new RegExp(`^crio-${CONTAINER_ID}\\.scope$`)],
  ['podman', new RegExp(`^libpod-${CONTAINER_ID}\\.scope$`)],
];
const POD = /^(?:kubepods-(?:burstable-|besteffort-)?)?pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?$/;
const BARE_ID = new RegExp(`^${CONTAINER_ID}$`);

export function containerOf(cgroupPath: string | null | undefined): ContainerIdentity {
  const identity: ContainerIdentity = { runtime: null, id: null, podUid: null, systemdUnit: null };
  if (!cgroupPath) return identity;
  const parts = cgroupPath.split('/').filter(Boolean);
  parts.forEach((part, i) => {
    if (part.endsWith('.service') || part.endsWith('.scope')) identity.systemdUnit = part;
    const pod = POD.exec(part);
    if (pod) identity.podUid = pod[1].replaceAll('_', '-');
    for (const [runtime, pattern] of scopes) {
      const match = pattern.exec(part);
      if (match) [identity.runtime, identity.id] = [runtime, match[1]];
    }
    // cgroupfs drivers: a bare id under /docker/ or under a Kubernetes pod.
    const bare = BARE_ID.exec(part);
    if (bare && !identity.id) {
      if (parts[i - 1] === 'docker') [identity.runtime, identity.id] = ['docker', bare[1]];
      else if (identity.podUid) [identity.runtime, identity.id] = ['containerd', bare[1]];
    }
  });
  return identity;
}
