/**
 * CRI's ListMetricDescriptors and ListPodSandboxMetrics: what kubelet serves as
 * /metrics/cadvisor when its PodAndContainerStatsFromCRI feature is on. Named and labelled as
 * cAdvisor and CRI-O name them, from the figures the stats methods report (each container's
 * cgroup, the pod's network namespace), read once per container per call; nothing is kept.
 */
import { MetricType, RuntimeService } from '../../api/cri/gen/api_pb.js';
import type { Container } from '../../container/container.js';
import { cgroupPathOf } from '../../container/spec.js';
import type { PodContext } from '../../pod/context.js';
import { podContainers } from '../../pod/containers.js';
import { ANNOTATION_IMAGE, ANNOTATION_NAME, type PodRecord } from '../../pod/record.js';
import { cgroupUsage } from '../../sys/cgroup/stats.js';
import type { NetDevCounters } from '../../sys/net-dev.js';
import { criUnary, type CriHandler } from './handlers.js';
import { podReady } from './runtime-pods.js';
import { podInterfaces } from './runtime-stats.js';

interface Descriptor {
  name: string;
  help: string;
  labelKeys: string[];
  type: MetricType;
}

/** CRI-O's base labels: the runtime's (id, image), then kubelet's (namespace, pod, container). */
const BASE_KEYS = ['id', 'image', 'namespace', 'pod', 'container'];

const descriptor = (name: string, help: string, type: MetricType, extraKeys: string[] = []): Descriptor => ({
  name,
  help,
  labelKeys: [...BASE_KEYS, ...extraKeys],
  type,
});

const CPU_USAGE = descriptor('container_cpu_usage_seconds_total', 'Cumulative CPU time consumed in seconds.', MetricType.COUNTER, ['cpu']);
const MEMORY_USAGE = descriptor(
  'container_memory_usage_bytes',
  'Current memory usage in bytes, including all memory regardless of when it was accessed.',
  MetricType.GAUGE,
);
const MEMORY_WORKING_SET = descriptor('container_memory_working_set_bytes', 'Current working set in bytes.', MetricType.GAUGE);
const MEMORY_RSS = descriptor('container_memory_rss', 'Size of RSS in bytes.', MetricType.GAUGE);
const MEMORY_FAILURES = descriptor('container_memory_failures_total', 'Cumulative count of memory allocation failures.', MetricType.COUNTER, [
  'failure_type',
  'scope',
]);

type Counter = Exclude<keyof NetDevCounters, 'name'>;

/** The pod's network counters, one series per interface of its namespace. */
const NETWORK: [Descriptor, Counter][] = (
  [
    ['receive_bytes', 'bytes received', 'rxBytes'],
    ['receive_packets', 'packets received', 'rxPackets'],
    ['receive_packets_dropped', 'packets dropped while receiving', 'rxDropped'],
    ['receive_errors', 'errors encountered while receiving', 'rxErrors'],
    ['transmit_bytes', 'bytes transmitted', 'txBytes'],
    ['transmit_packets', 'packets transmitted', 'txPackets'],
    ['transmit_packets_dropped', 'packets dropped while transmitting', 'txDropped'],
    ['transmit_errors', 'errors encountered while transmitting', 'txErrors'],
  ] as const
).map(([what, help, field]) => [descriptor(`container_network_${what}_total`, `Cumulative count of ${help}.`, MetricType.COUNTER, ['interface']), field]);

export const METRIC_DESCRIPTORS: Descriptor[] = [CPU_USAGE, MEMORY_USAGE, MEMORY_WORKING_SET, MEMORY_RSS, MEMORY_FAILURES, ...NETWORK.map(([d]) => d)];

/** The label values in the order of the descriptor's keys (kubelet pairs them by position). */
function metric(d: Descriptor, labels: Record<string, string>, value: bigint, timestamp: bigint) {
  return { name: d.name, timestamp, metricType: d.type, labelValues: d.labelKeys.map((k) => labels[k] ?? ''), value: { value } };
}

type Metric = ReturnType<typeof metric>;

const NANOS_PER_SECOND = 1_000_000_000n;

function containerMetrics(pc: PodContext, c: Container, pod: PodRecord, timestamp: bigint): Metric[] {
  const a = c.record.config.Config.Annotations ?? {};
  const base = {
    id: c.id,
    image: a[ANNOTATION_IMAGE] ?? c.record.config.Image,
    namespace: pod.config.namespace,
    pod: pod.config.name,
    container: a[ANNOTATION_NAME] ?? c.name,
  };
  const u = cgroupUsage(cgroupPathOf(c, pc.engine.defaults));
  const out: Metric[] = [];
  const add = (d: Descriptor, value: bigint | undefined, extra: Record<string, string> = {}): void => {
    if (value !== undefined) out.push(metric(d, { ...base, ...extra }, value, timestamp));
  };
  // The value is an integer: whole seconds, truncated, as CRI-O reports them (the counter stays monotonic).
  add(CPU_USAGE, u.cpuNanos === undefined ? undefined : u.cpuNanos / NANOS_PER_SECOND, { cpu: 'total' });
  add(MEMORY_USAGE, u.memoryUsage);
  add(MEMORY_WORKING_SET, u.workingSet);
  add(MEMORY_RSS, u.rss);
  // memory.stat's counters of the whole cgroup tree (v1's total_*), cAdvisor's "hierarchy" scope.
  add(MEMORY_FAILURES, u.pageFaults, { failure_type: 'pgfault', scope: 'hierarchy' });
  add(MEMORY_FAILURES, u.majorPageFaults, { failure_type: 'pgmajfault', scope: 'hierarchy' });
  return out;
}

/** Network counters of the pod's own namespace (podInterfaces). */
async function podNetworkMetrics(pc: PodContext, pod: PodRecord, timestamp: bigint): Promise<Metric[]> {
  const pause = pc.engine.store.find(pod.id);
  const interfaces = await podInterfaces(pod, pause);
  if (!pause || !interfaces) return [];
  const base = { id: pod.id, image: pause.record.config.Image, namespace: pod.config.namespace, pod: pod.config.name, container: 'POD' };
  return interfaces.flatMap((n) => NETWORK.map(([d, field]) => metric(d, { ...base, interface: n.name }, n[field], timestamp)));
}

export function criMetricsService(pc: PodContext): CriHandler[] {
  const method = RuntimeService.method;
  return [
    criUnary(method.listMetricDescriptors, async () => ({
      descriptors: METRIC_DESCRIPTORS.map(({ name, help, labelKeys }) => ({ name, help, labelKeys })),
    })),
    criUnary(method.listPodSandboxMetrics, async () => {
      const timestamp = BigInt(Date.now()) * 1_000_000n;
      // Ready pods only, their running containers only: a stopped pod or container has no figures.
      const pods = pc.store.all().filter((pod) => podReady(pc, pod));
      const podMetrics = await Promise.all(
        pods.map(async (pod) => ({
          podSandboxId: pod.id,
          metrics: await podNetworkMetrics(pc, pod, timestamp),
          containerMetrics: podContainers(pc, pod.id)
            .filter((c) => c.state.Running)
            .map((c) => ({ containerId: c.id, metrics: containerMetrics(pc, c, pod, timestamp) })),
        })),
      );
      return { podMetrics };
    }),
  ];
}
