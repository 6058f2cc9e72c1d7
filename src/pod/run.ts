import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import os from 'node:os';
import { promisify } from 'node:util';
import type { CreateRequest, NamespaceShares } from '../api/containers.js';
import { invalidArgs } from '../api/errors.js';
import { createContainer, newContainerId } from '../container/create.js';
import { removeContainer } from '../container/remove.js';
import { startContainer } from '../container/start.js';
import { warmCgroupMigration } from '../sys/cgroup/warm.js';
import { settleAll } from '../sys/wait.js';
import { applyPodLimits } from './cgroup.js';
import type { PodContext } from './context.js';
import { criContainerName } from './containers.js';
import { writePodEtc } from './etc.js';
import type { PodNetworkRequest } from './network.js';
import { LABEL_TYPE, TYPE_SANDBOX, type PodConfig, type PodRecord } from './record.js';

const execFileAsync = promisify(execFile);

/** CNI's request for the pod, for ADD and for every later DEL. */
export function networkRequest(pod: PodRecord): PodNetworkRequest {
  return {
    podId: pod.id,
    podName: pod.config.name,
    podNamespace: pod.config.namespace,
    podUid: pod.config.uid,
    netnsPath: pod.netnsPath ?? '',
    ifName: 'eth0',
    portMappings: pod.config.portMappings,
  };
}

/**
 * RunPodSandbox: the pod's network namespace (unless host networking), then two paths side by
 * side: CNI ADD in that namespace; the pause container's create, the pod's record, the pause's
 * start. Then `ready`. The pod id (the pause's) is chosen first, so the network is set up under
 * it while the pause is made: the ADD's cache record comes before any plugin runs, and a daemon
 * killed before the pod's record DELs it, unpins the namespace and removes the pause at its
 * next start (restore.ts); after the record, kubelet's StopPodSandbox DELs it. Anything that
 * fails undoes what was made. The pause needs the namespace, not its addresses; the call
 * answers once both paths are done, as kubelet expects.
 */
export async function runPod(pc: PodContext, config: PodConfig, signal: AbortSignal): Promise<string> {
  if (config.name === '' || config.namespace === '' || config.uid === '') throw invalidArgs('pod sandbox metadata must have a name, a namespace and a uid');
  const runtime = pc.runtimeFor(config.runtimeHandler);
  const name = criContainerName('POD', config);
  pc.engine.store.assertNameFree(name);
  await pc.ensureImage(pc.sandboxImage, signal);
  const hostname = config.hostname || (config.namespaces.hostNetwork ? os.hostname() : config.name);
  // Before anything is made: limits the kernel refuses fail the run with nothing to undo.
  applyPodLimits(config);

  const network = config.namespaces.hostNetwork ? undefined : pc.network;
  const netnsId = `cni-${crypto.randomUUID()}`;
  const netnsPath = network?.netnsPath(netnsId);
  // createNetns has made the namespace's (still empty) file when it returns, so the pause's
  // create, which checks that the file exists, runs while the namespace is pinned on it.
  const netnsMade = network?.createNetns(netnsId);
  const namespaces: NamespaceShares = {};
  if (netnsPath) namespaces.net = netnsPath;
  if (config.namespaces.hostIpc) namespaces.ipc = 'host';
  if (config.namespaces.pid === 'node') namespaces.pid = 'host';
  const id = newContainerId(pc.engine);
  const pod: PodRecord = {
    id,
    config: { ...config, hostname },
    createdAt: String(BigInt(Date.now()) * 1_000_000n),
    state: 'notready',
    ...(netnsPath ? { netnsPath } : {}),
    networkAttached: network?.cni !== undefined,
    ips: [],
  };
  let networkTried = false;
  // From here on, so that the pause's lxc-start finds the kernel's cgroup migration lock warm
  // (sys/cgroup/warm.ts): its grace period runs beside the netns and the pause's create.
  const cooled = warmCgroupMigration();
  try {
    const cni = network?.cni;
    // The namespace's failure first: without its file the create fails too.
    await settleAll([
      // The network as soon as its namespace is pinned: its cache record comes before any
      // plugin runs, so a daemon killed from here on DELs it at its next start (restore.ts).
      netnsMade?.then(async () => {
        if (!cni) return;
        networkTried = true;
        pod.ips = (await cni.setUp(networkRequest(pod))).ips;
      }),
      (async () => {
        await createContainer(pc.engine, pauseRequest(pc, config, name, hostname, runtime, namespaces), id);
        // The pause needs its namespace pinned before it starts.
        await netnsMade;
        await pc.store.save(pod);
        await settleAll([writePodEtc(pc.store.dirOf(id), pod.config, hostname), startContainer(pc.engine, pc.engine.store.get(id))]);
      })(),
    ]);
    await setPodSysctls(pc.engine.store.get(id).state.Pid, config.sysctls);
    pod.state = 'ready';
    await pc.store.save(pod);
    return id;
  } catch (e) {
    await undoRun(pc, pod, networkTried, netnsPath).catch((err: Error) => pc.log.warn(`undoing the failed run of pod ${config.name}: ${err.message}`));
    throw e;
  } finally {
    cooled();
  }
}

/** The pause container's create: the pod's labels, namespaces and security settings, no logs. */
function pauseRequest(pc: PodContext, config: PodConfig, name: string, hostname: string, runtime: string, namespaces: NamespaceShares): CreateRequest {
  return {
    name,
    image: pc.sandboxImage,
    cmd: [],
    env: [],
    labels: { ...config.labels, [LABEL_TYPE]: TYPE_SANDBOX },
    annotations: config.annotations,
    hostname,
    tty: false,
    openStdin: false,
    runtime,
    systemContainer: false,
    readOnly: false,
    mounts: [],
    resources: {},
    capAdd: [],
    capDrop: [],
    privileged: config.privileged,
    devices: [],
    ulimits: [],
    logOpts: { 'disable-log': 'true' },
    autoRemove: false,
    cgroupParent: config.cgroupParent,
    networkMode: config.namespaces.hostNetwork ? 'host' : 'none',
    ...(Object.keys(namespaces).length > 0 ? { namespaces } : {}),
    ...(config.seccompProfile !== undefined ? { seccompProfile: config.seccompProfile } : {}),
    ...(config.apparmorProfile !== undefined ? { apparmorProfile: config.apparmorProfile } : {}),
  };
}

/**
 * The pod's sysctls, written in the pause's network and IPC namespaces once it runs: LXC's
 * lxc.sysctl comes after /proc/sys is mounted read-only, and only namespaced keys (checked by
 * the CRI layer) are here, so the host's procps `sysctl` in those namespaces sets the pod's.
 */
async function setPodSysctls(pid: number, sysctls: Record<string, string>): Promise<void> {
  const pairs = Object.entries(sysctls);
  if (pairs.length === 0) return;
  try {
    await execFileAsync('nsenter', [`--target=${pid}`, '--net', '--ipc', '--', 'sysctl', '-q', '-w', ...pairs.map(([k, v]) => `${k}=${v}`)], {
      timeout: 10_000,
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw invalidArgs(`setting the pod's sysctls: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

async function undoRun(pc: PodContext, pod: PodRecord, networkTried: boolean, netnsPath: string | undefined): Promise<void> {
  const c = pc.engine.store.find(pod.id);
  if (c) await removeContainer(pc.engine, c, true);
  if (networkTried) await pc.network?.cni?.tearDown(networkRequest(pod));
  if (netnsPath) await pc.network?.removeNetns(netnsPath);
  await pc.store.delete(pod.id);
}
