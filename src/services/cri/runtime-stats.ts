/**
 * CRI's stats methods: ContainerStats, ListContainerStats, PodSandboxStats and
 * ListPodSandboxStats, from each container's cgroup (a pod's: its pause's and its containers').
 */
import { RuntimeService } from '../../api/cri/gen/api_pb.js';
import { invalidArgs, notFound } from '../../api/errors.js';
import type { Container } from '../../container/container.js';
import { cgroupPathOf } from '../../container/spec.js';
import type { PodContext } from '../../pod/context.js';
import { podContainers } from '../../pod/containers.js';
import { ANNOTATION_ATTEMPT, ANNOTATION_NAME, ANNOTATION_PREFIX, LABEL_SANDBOX_ID, LABEL_TYPE, TYPE_CONTAINER, type PodRecord } from '../../pod/record.js';
import { cgroupUsage, type CgroupUsage } from '../../sys/cgroup/stats.js';
import { type NetDevCounters, readNetDev } from '../../sys/net-dev.js';
import { criUnary, type CriHandler } from './handlers.js';
import { matchesLabels } from './runtime-pods.js';

const u64 = (value: bigint | undefined) => (value === undefined ? undefined : { value });

/**
 * The interfaces of the pod's own network namespace but lo (loopback traffic never leaves the
 * pod); undefined when it has none to report: host_network (those counters are the node's) or
 * no running pause.
 */
export async function podInterfaces(pod: PodRecord, pause: Container | undefined): Promise<NetDevCounters[] | undefined> {
  if (pod.config.namespaces.hostNetwork || !pause?.state.Running || !pause.state.Pid) return undefined;
  return ((await readNetDev(pause.state.Pid)) ?? []).filter((n) => n.name !== 'lo');
}

export function criStatsService(pc: PodContext): CriHandler[] {
  const method = RuntimeService.method;
  const store = pc.engine.store;
  // The last CPU sample of each cgroup: usage_nano_cores is the rate since then, as containerd reports it.
  const lastCpu = new Map<string, { nanos: bigint; at: bigint }>();

  const usageOf = (key: string, cgroups: string[], now: bigint) => {
    const parts = cgroups.map(cgroupUsage);
    const sum = (pick: (u: CgroupUsage) => bigint | undefined): bigint | undefined => {
      const values = parts.map(pick).filter((v): v is bigint => v !== undefined);
      return values.length > 0 ? values.reduce((a, b) => a + b, 0n) : undefined;
    };
    const cpuNanos = sum((u) => u.cpuNanos);
    let nanoCores: bigint | undefined;
    const last = lastCpu.get(key);
    if (cpuNanos !== undefined) {
      if (last && now > last.at && cpuNanos >= last.nanos) nanoCores = ((cpuNanos - last.nanos) * 1_000_000_000n) / (now - last.at);
      lastCpu.set(key, { nanos: cpuNanos, at: now });
    }
    return {
      cpu: { timestamp: now, usageCoreNanoSeconds: u64(cpuNanos), usageNanoCores: u64(nanoCores) },
      memory: {
        timestamp: now,
        workingSetBytes: u64(sum((u) => u.workingSet)),
        usageBytes: u64(sum((u) => u.memoryUsage)),
        rssBytes: u64(sum((u) => u.rss)),
        pageFaults: u64(sum((u) => u.pageFaults)),
        majorPageFaults: u64(sum((u) => u.majorPageFaults)),
      },
    };
  };

  /** available_bytes: the memory limit less the working set, as kubelet computes it; only with a limit. */
  const withAvailable = <U extends ReturnType<typeof usageOf>>(u: U, limit: number | undefined): U => {
    const ws = u.memory.workingSetBytes?.value;
    if (!limit || ws === undefined) return u;
    const free = BigInt(limit) - ws;
    return { ...u, memory: { ...u.memory, availableBytes: u64(free > 0n ? free : 0n) } };
  };

  const containerStats = (c: Container, now: bigint) => {
    const a = c.record.config.Config.Annotations ?? {};
    const { [LABEL_TYPE]: _t, [LABEL_SANDBOX_ID]: _p, ...labels } = c.record.config.Config.Labels;
    return {
      attributes: {
        id: c.id,
        metadata: { name: a[ANNOTATION_NAME] ?? c.name, attempt: Number(a[ANNOTATION_ATTEMPT] ?? 0) },
        labels,
        annotations: Object.fromEntries(Object.entries(a).filter(([k]) => !k.startsWith(ANNOTATION_PREFIX))),
      },
      ...withAvailable(usageOf(c.id, [cgroupPathOf(c, pc.engine.defaults)], now), c.record.host.Resources.memory),
    };
  };

  /** eth0 first, as CNI names it. */
  const networkOf = async (pod: PodRecord, pause: Container | undefined, now: bigint) => {
    const own = await podInterfaces(pod, pause);
    if (!own) return undefined;
    const interfaces = own.map((n) => ({
      name: n.name,
      rxBytes: u64(n.rxBytes),
      rxErrors: u64(n.rxErrors),
      txBytes: u64(n.txBytes),
      txErrors: u64(n.txErrors),
    }));
    return { timestamp: now, defaultInterface: interfaces.find((n) => n.name === 'eth0') ?? interfaces[0], interfaces };
  };

  const podStats = async (pod: PodRecord, now: bigint) => {
    const containers = podContainers(pc, pod.id);
    const pause = store.find(pod.id);
    const cgroups = [...(pause ? [pause] : []), ...containers].map((c) => cgroupPathOf(c, pc.engine.defaults));
    return {
      attributes: {
        id: pod.id,
        metadata: { name: pod.config.name, uid: pod.config.uid, namespace: pod.config.namespace, attempt: pod.config.attempt },
        labels: pod.config.labels,
        annotations: pod.config.annotations,
      },
      linux: {
        ...usageOf(`pod:${pod.id}`, cgroups, now),
        network: await networkOf(pod, pause, now),
        process: { timestamp: now, processCount: u64(BigInt(containers.filter((c) => c.state.Running).length)) },
        containers: containers.map((c) => containerStats(c, now)),
      },
    };
  };

  const criContainer = (id: string): Container => {
    if (id === '') throw invalidArgs('container id is empty');
    const c = store.find(id);
    if (!c || c.record.config.Config.Labels[LABEL_TYPE] !== TYPE_CONTAINER) throw notFound(`container ${id} not found`);
    return c;
  };
  const now = (): bigint => BigInt(Date.now()) * 1_000_000n;

  return [
    criUnary(method.containerStats, async (request) => ({ stats: containerStats(criContainer(request.containerId), now()) })),
    criUnary(method.listContainerStats, async (request) => {
      const f = request.filter;
      const t = now();
      const stats = store
        .all()
        .filter((c) => c.record.config.Config.Labels[LABEL_TYPE] === TYPE_CONTAINER && c.state.Running)
        .filter((c) => !f?.id || c.id.startsWith(f.id))
        .filter((c) => !f?.podSandboxId || (c.record.config.Config.Labels[LABEL_SANDBOX_ID] ?? '').startsWith(f.podSandboxId))
        .filter((c) => !f || matchesLabels(c.record.config.Config.Labels, f.labelSelector))
        .map((c) => containerStats(c, t));
      return { stats };
    }),
    criUnary(method.podSandboxStats, async (request) => {
      if (request.podSandboxId === '') throw invalidArgs('pod sandbox id is empty');
      return { stats: await podStats(pc.store.get(request.podSandboxId), now()) };
    }),
    criUnary(method.listPodSandboxStats, async (request) => {
      const f = request.filter;
      const t = now();
      const pods = pc.store
        .all()
        .filter((p) => !f?.id || p.id.startsWith(f.id))
        .filter((p) => !f || matchesLabels(p.config.labels, f.labelSelector));
      return { stats: await Promise.all(pods.map((p) => podStats(p, t))) };
    }),
  ];
}
