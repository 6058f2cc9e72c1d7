import type { RuntimeSpec } from '../../src/runtime/runtime.js';

/** The LXC config writer's paths, fixed for rendering tests. */
export const lxcPaths = {
  containerDir: '/c',
  logFile: '/c/log',
  postStopHook: '/h',
  seccompProfile: undefined,
  remountReadOnlyHook: '/r',
  hookScript: undefined,
  monitorCgroup: 'm',
};

/** A plain container's runtime spec (busybox `sh` as root, no network), with `over` applied. */
export function runtimeSpec(over: Partial<RuntimeSpec> = {}): RuntimeSpec {
  return {
    id: 'c1',
    hostname: 'h',
    rootfs: { kind: 'dir', path: '/r' },
    readOnly: false,
    args: ['sh'],
    env: [],
    workdir: '/',
    user: { uid: 0, gid: 0, groups: [] },
    tty: false,
    openStdin: false,
    mounts: [],
    resources: {},
    capAdd: [],
    capDrop: [],
    privileged: false,
    devices: [],
    ulimits: [],
    systemContainer: false,
    cgroupPath: 'isulad/c1',
    networkMode: 'none',
    hooks: undefined,
    etcFiles: { hostname: '/s/hostname', hosts: '/s/hosts', resolvConf: '/s/resolv.conf' },
    ...over,
  };
}
