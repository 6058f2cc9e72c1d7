/**
 * CRI metrics (ListMetricDescriptors, ListPodSandboxMetrics) against the real daemon on LXC: a
 * pod on a CNI bridge of Debian's plugins, a busybox container burning CPU after one request to
 * the bridge's gateway, and the figures kubelet would serve as /metrics/cadvisor.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { ImageService, MetricType, RuntimeService, type Metric, type MetricDescriptor } from '../../src/api/cri/gen/api_pb.js';
import { bridgeNetwork, CNI_PLUGINS, deleteBridge, removeAllPods, missingCniPlugins, criCall, criClient, startCriEngine } from '../helpers/cri.js';
import type { TestEngine } from '../helpers/engine.js';
import { BUSYBOX_BIN, busyboxImage, pushImage } from '../helpers/oci-images.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const rt = RuntimeService.method;
const PAUSE = 'localhost/pause:3.9';
const cniSkip = missingCniPlugins(['bridge', 'host-local', 'loopback']);

describe('CRI metrics', { timeout: 5 * 60_000, skip: cniSkip }, () => {
  // Unique per run: a bridge and a subnet of its own, beside other tests' and helpers'.
  const tag = (process.pid % 50000).toString(36);
  const BRIDGE = `crim${tag}`;
  const NET = `10.${100 + (process.pid % 150)}.79.`;
  let reg: TestRegistry;
  let engine: TestEngine;
  let client: grpc.Client;
  let work: string;
  let bb: string;
  let descriptors: Map<string, MetricDescriptor>;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-cri-metrics-'));
    const network = bridgeNetwork(work, `cri-metrics-${tag}`, BRIDGE, [`${NET}0/24`], CNI_PLUGINS);
    reg = await startRegistry();
    pushImage(busyboxImage(), reg, 'busybox:latest');
    bb = `${reg.host}/busybox:latest`;
    engine = await startCriEngine(work, PAUSE, ['--log-driver', 'stdout'], {
      'insecure-registries': [reg.host],
      ...network,
    });
    client = criClient(engine.sock);
    await criCall(client, ImageService.method.pullImage, { image: { image: bb } });
    descriptors = new Map((await criCall(client, rt.listMetricDescriptors, {})).descriptors.map((d) => [d.name, d]));
  });

  after(async () => {
    if (client) {
      await removeAllPods(client);
    }
    client?.close();
    await engine?.cleanup().catch((e: Error) => console.log(`# engine cleanup: ${e.message}`));
    deleteBridge(BRIDGE);
    await reg?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const podConfig = (name: string) => ({ metadata: { name, uid: `uid-${name}`, namespace: 'metrics-ns', attempt: 0 } });

  async function runContainer(podId: string, podName: string, name: string, script: string): Promise<string> {
    const { containerId } = await criCall(client, rt.createContainer, {
      podSandboxId: podId,
      config: { metadata: { name, attempt: 0 }, image: { image: bb }, command: ['/bin/sh', '-c'], args: [script] },
      sandboxConfig: podConfig(podName),
    });
    await criCall(client, rt.startContainer, { containerId });
    return containerId;
  }

  /** A metric's labels by the keys of its descriptor, checking that they pair one to one. */
  function labelsOf(m: Metric): Record<string, string> {
    const d = descriptors.get(m.name);
    assert.ok(d, `metric ${m.name} has a descriptor`);
    assert.equal(m.labelValues.length, d.labelKeys.length, `${m.name}: one label value per key ${JSON.stringify(d.labelKeys)}`);
    return Object.fromEntries(d.labelKeys.map((k, i) => [k, m.labelValues[i]!]));
  }

  const podMetrics = async (podId: string) => (await criCall(client, rt.listPodSandboxMetrics, {})).podMetrics.find((p) => p.podSandboxId === podId);

  const cpuSeconds = (metrics: Metric[]): bigint => {
    const cpu = metrics.find((m) => m.name === 'container_cpu_usage_seconds_total');
    assert.ok(cpu?.value, 'a CPU counter');
    return cpu.value.value;
  };

  it('describes its metrics with cAdvisor names, help and label keys', () => {
    for (const name of [
      'container_cpu_usage_seconds_total',
      'container_memory_usage_bytes',
      'container_memory_working_set_bytes',
      'container_memory_rss',
      'container_network_receive_bytes_total',
      'container_network_transmit_bytes_total',
    ]) {
      const d = descriptors.get(name);
      assert.ok(d, `descriptor ${name}`);
      assert.ok(d.help.length > 0, `${name} has help`);
      assert.deepEqual(d.labelKeys.slice(0, 5), ['id', 'image', 'namespace', 'pod', 'container'], name);
    }
    assert.deepEqual(descriptors.get('container_network_receive_bytes_total')?.labelKeys.slice(5), ['interface']);
  });

  it('reports a ready pod: its container’s CPU counter grows, memory gauges, network per interface (in PodSandboxStats too); label values pair with the keys', async () => {
    const podId = (await criCall(client, rt.runPodSandbox, { config: podConfig('burn') })).podSandboxId;
    const gateway = `${NET}1`;
    // One request to the gateway (refused: nothing listens) puts bytes on eth0 both ways, then a busy loop.
    const cid = await runContainer(podId, 'burn', 'burner', `${BUSYBOX_BIN} wget -q -T 2 -O /dev/null http://${gateway}:9/; while :; do :; done`);
    const quitter = await runContainer(podId, 'burn', 'quitter', 'exit 0');

    const first = await podMetrics(podId);
    assert.ok(first, 'the ready pod is listed');
    const t0 = first.containerMetrics.find((c) => c.containerId === cid);
    assert.ok(t0, 'the running container has metrics');
    const startCpu = cpuSeconds(t0.metrics);

    // Whole seconds: a busy loop adds one a second; wait until a later call shows more.
    let later = startCpu;
    const deadline = Date.now() + 30_000;
    let last = first;
    while (later <= startCpu && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      last = (await podMetrics(podId))!;
      later = cpuSeconds(last.containerMetrics.find((c) => c.containerId === cid)!.metrics);
    }
    assert.ok(later > startCpu, `the CPU counter grew: ${startCpu} s then ${later} s`);

    // The exited container has no figures; the running one has every kind, each typed and labelled.
    assert.deepEqual(
      last.containerMetrics.map((c) => c.containerId),
      [cid],
      `only the running container (the exited ${quitter.slice(0, 12)} is left out)`,
    );
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const metrics = last.containerMetrics[0]!.metrics;
    for (const m of metrics) {
      const labels = labelsOf(m);
      assert.equal(labels.id, cid, m.name);
      assert.equal(labels.container, 'burner', m.name);
      assert.equal(labels.pod, 'burn', m.name);
      assert.equal(labels.namespace, 'metrics-ns', m.name);
      assert.equal(labels.image, bb, m.name);
      assert.ok(m.timestamp > nowNs - 60_000_000_000n && m.timestamp <= nowNs, `${m.name} timestamp ${m.timestamp}`);
      const gauge = m.name === 'container_memory_usage_bytes' || m.name === 'container_memory_working_set_bytes' || m.name === 'container_memory_rss';
      assert.equal(m.metricType, gauge ? MetricType.GAUGE : MetricType.COUNTER, m.name);
    }
    assert.equal(labelsOf(metrics.find((m) => m.name === 'container_cpu_usage_seconds_total')!).cpu, 'total');
    for (const name of ['container_memory_usage_bytes', 'container_memory_working_set_bytes']) {
      assert.ok((metrics.find((m) => m.name === name)?.value?.value ?? 0n) > 0n, `${name} > 0`);
    }

    // The pod's own metrics: its namespace's interfaces (eth0 of the bridge), loopback left out.
    const net = last.metrics.map((m) => ({ m, labels: labelsOf(m) }));
    assert.deepEqual([...new Set(net.map((x) => x.labels.interface))], ['eth0']);
    for (const { m, labels } of net) {
      assert.equal(labels.id, podId, m.name);
      assert.equal(labels.container, 'POD', m.name);
      assert.equal(labels.pod, 'burn', m.name);
      assert.equal(m.metricType, MetricType.COUNTER, m.name);
    }
    for (const name of ['container_network_receive_bytes_total', 'container_network_transmit_bytes_total']) {
      assert.ok((net.find((x) => x.m.name === name)?.m.value?.value ?? 0n) > 0n, `${name} > 0 after the request`);
    }

    // PodSandboxStats reads the same namespace: eth0 is its default interface.
    const podNet = (await criCall(client, rt.podSandboxStats, { podSandboxId: podId })).stats?.linux?.network;
    assert.equal(podNet?.defaultInterface?.name, 'eth0');
    assert.deepEqual(
      podNet?.interfaces.map((n) => n.name),
      ['eth0'],
    );
    assert.ok(
      (podNet?.defaultInterface?.rxBytes?.value ?? 0n) > 0n && (podNet?.defaultInterface?.txBytes?.value ?? 0n) > 0n,
      'PodSandboxStats: eth0 bytes both ways',
    );

    // A stopped pod is absent (only ready pods are listed).
    await criCall(client, rt.stopPodSandbox, { podSandboxId: podId });
    assert.equal(await podMetrics(podId), undefined, 'the stopped pod is not listed');
    await criCall(client, rt.removePodSandbox, { podSandboxId: podId });
  });
});
