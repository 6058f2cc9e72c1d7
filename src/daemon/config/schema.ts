/**
 * The keys of /etc/isulad/daemon.json, with iSulad's names (lcr:src/json/schema/
 * isulad-daemon-configs.json) and the JSON type each must have.
 */
export type KeyType = 'string' | 'boolean' | 'integer' | 'string[]' | 'string-map' | 'object-map' | 'object';

export interface ObjectShape {
  [key: string]: KeyType;
}

export const daemonJsonKeys: Readonly<Record<string, KeyType>> = {
  hosts: 'string[]',
  'default-runtime': 'string',
  group: 'string',
  graph: 'string',
  state: 'string',
  pidfile: 'string',
  engine: 'string',
  'log-level': 'string',
  'log-driver': 'string',
  'log-opts': 'string-map',
  'container-log': 'object',
  'storage-driver': 'string',
  'storage-opts': 'string[]',
  'storage-enable-remote-layer': 'boolean',
  'hook-spec': 'string',
  'start-timeout': 'string',
  'enable-plugins': 'string',
  'userns-remap': 'string',
  'cpu-rt-period': 'integer',
  'cpu-rt-runtime': 'integer',
  'sup-groups': 'string[]',
  'registry-mirrors': 'string[]',
  'insecure-registries': 'string[]',
  'native.umask': 'string',
  'pod-sandbox-image': 'string',
  'network-plugin': 'string',
  'cni-bin-dir': 'string',
  'cni-conf-dir': 'string',
  'image-layer-check': 'boolean',
  'use-decrypted-key': 'boolean',
  'insecure-skip-verify-enforce': 'boolean',
  tls: 'boolean',
  'tls-verify': 'boolean',
  'tls-config': 'object',
  'authorization-plugin': 'string',
  'cgroup-parent': 'string',
  'websocket-server-listening-port': 'integer',
  'default-ulimits': 'object-map',
  runtimes: 'object-map',
  'cri-runtimes': 'string-map',
  'cri-sandboxers': 'object-map',
  'selinux-enabled': 'boolean',
  'metrics-port': 'integer',
  'enable-cri-v1': 'boolean',
  'systemd-cgroup': 'boolean',
  'enable-pod-events': 'boolean',
  'cdi-spec-dirs': 'string[]',
  'enable-cdi': 'boolean',
  'nri-support': 'boolean',
  'disable-connections': 'boolean',
  'plugin-config-path': 'string',
  'plugin-path': 'string',
  'nri-socket-path': 'string',
  'plugin-registration-timeout': 'integer',
  'plugin-requst-timeout': 'integer',
};

/** Shapes of the keys whose value is an object with fixed member names. */
export const objectShapes: Readonly<Record<string, ObjectShape>> = {
  'container-log': { driver: 'string', opts: 'string-map' },
  'tls-config': { CAFile: 'string', CertFile: 'string', KeyFile: 'string' },
};

/** Shapes of the values inside `*-map` keys whose values are objects. */
export const mapValueShapes: Readonly<Record<string, ObjectShape>> = {
  runtimes: { path: 'string', runtimeArgs: 'string[]' },
  'default-ulimits': { Name: 'string', Hard: 'integer', Soft: 'integer' },
  'cri-sandboxers': { name: 'string', address: 'string', protocol: 'string' },
};
