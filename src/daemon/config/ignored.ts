import { isDeepStrictEqual } from 'node:util';
import type { KeyType } from './schema.js';

/**
 * daemon.json keys the engine accepts but does not act on, so that iSulad's own file (and
 * those of older releases) starts the daemon unchanged. Each gets one warning line at start,
 * naming what is ignored, unless its value asks for nothing (iSulad's own default there).
 */

/** Keys older iSulad releases shipped and the current schema dropped: always ignored. */
export const olderReleaseKeys: Readonly<Record<string, KeyType>> = {
  'image-opt-timeout': 'string',
  'image-server-sock-addr': 'string',
};

interface Ignored {
  /** Values that ask for nothing; any other value gets the warning. */
  inert: unknown[];
  /** What the key would have done, for the warning line. */
  what: string;
}

const OCI_IMAGES = 'not supported for OCI images';
const PLUGINS = 'plugins and NRI are not supported';

const notActedOn: Readonly<Record<string, Ignored>> = {
  engine: { inert: ['lcr'], what: 'this engine runs lcr only' },
  'storage-enable-remote-layer': { inert: [false], what: `remote layers are ${OCI_IMAGES}` },
  'image-layer-check': { inert: [false], what: 'every layer is verified as it is pulled or loaded; a check of stored layers at start is not supported' },
  'use-decrypted-key': { inert: [true], what: `encrypted images are ${OCI_IMAGES}` },
  'insecure-skip-verify-enforce': { inert: [false], what: `this option is ${OCI_IMAGES}` },
  'cri-sandboxers': { inert: [{}], what: 'external sandboxers are not supported' },
  'enable-plugins': { inert: [''], what: PLUGINS },
  'nri-support': { inert: [false], what: PLUGINS },
  'disable-connections': { inert: [false], what: PLUGINS },
  'plugin-config-path': { inert: [''], what: PLUGINS },
  'plugin-path': { inert: [''], what: PLUGINS },
  'nri-socket-path': { inert: [''], what: PLUGINS },
  'plugin-registration-timeout': { inert: [], what: PLUGINS },
  'plugin-requst-timeout': { inert: [], what: PLUGINS },
  'authorization-plugin': { inert: [''], what: 'authorization plugins are not supported' },
  'userns-remap': { inert: [''], what: 'user namespace remapping of all containers is not supported' },
  'sup-groups': { inert: [[]], what: 'supplementary groups of all containers are not supported' },
  'cpu-rt-period': { inert: [0], what: 'real-time CPU limits of all containers are not supported' },
  'cpu-rt-runtime': { inert: [0], what: 'real-time CPU limits of all containers are not supported' },
  'default-ulimits': { inert: [{}], what: 'ulimits for all containers are not supported; give --ulimit per container' },
  'selinux-enabled': { inert: [false], what: 'SELinux labels are not supported' },
  'metrics-port': { inert: [], what: 'the metrics server is not available' },
  'systemd-cgroup': { inert: [false], what: 'the systemd cgroup driver is not supported (iSulad refuses it for lcr too)' },
  'cdi-spec-dirs': { inert: [[]], what: 'CDI devices are not supported' },
  'enable-cdi': { inert: [false], what: 'CDI devices are not supported' },
};

/** Keys that act only with the CRI services on, and the values that ask for nothing. */
const criKeys: Readonly<Record<string, unknown[]>> = {
  'pod-sandbox-image': [''],
  'cri-runtimes': [{}],
  'enable-pod-events': [false],
  'websocket-server-listening-port': [10350],
  'network-plugin': [''],
  'cni-bin-dir': ['', '/opt/cni/bin'],
  'cni-conf-dir': ['', '/etc/cni/net.d'],
};

/**
 * One warning line per key of `doc` that is accepted but ignored, in the file's order; the
 * CRI keys are ignored only while `enable-cri-v1` is off.
 */
export function ignoredKeyWarnings(doc: Record<string, unknown>, criEnabled: boolean): string[] {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(doc)) {
    if (key in olderReleaseKeys) {
      lines.push(`daemon.json: "${key}" is a key of older iSulad releases; ignored`);
      continue;
    }
    const criInert = criKeys[key];
    if (criInert) {
      if (!criEnabled && !criInert.some((v) => isDeepStrictEqual(v, value)))
        lines.push(`daemon.json: "${key}" ignored: the CRI services are off (enable-cri-v1 is false)`);
      continue;
    }
    const entry = notActedOn[key];
    if (!entry || entry.inert.some((v) => isDeepStrictEqual(v, value))) continue;
    lines.push(`daemon.json: "${key}" ignored: ${entry.what}`);
  }
  return lines;
}
