import net from 'node:net';
import path from 'node:path';
import { fault } from '../api/errors.js';
import type { Logger } from '../sys/log.js';
import { type CacheRecord, ResultCache } from './cache.js';
import { findNetworkConfig, findPlugin, type NetworkList, type PluginConf } from './config.js';
import { type CniCommand, type StartedPlugin, startPlugin } from './invoke.js';
import type { NetworkStatus, PodInterface, PodNetworkRequest, PodNetworkResult, PortMapping } from './types.js';

export interface CniNetworkOptions {
  /** Where the network configs are (iSulad's --cni-conf-dir, /etc/cni/net.d). */
  confDir: string;
  /** Where plugin binaries are looked up, in order (--cni-bin-dir, /opt/cni/bin). */
  binDirs: string[];
  /** <graph>/cni: the result cache goes under results/. */
  cacheDir: string;
  log: Logger;
  /** How long one plugin run may take. */
  pluginTimeoutMs?: number;
}

/** What tearDown needs: the netns may be gone, port mappings come from the cache. */
export type PodTeardownRequest = Pick<PodNetworkRequest, 'podId' | 'podName' | 'podNamespace' | 'podUid' | 'netnsPath'> & { ifName?: string };

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const NOT_READY = 'NetworkPluginNotReady';
const DEFAULT_TIMEOUT_MS = 60_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** CNI_ARGS values are split on ';' and '=': a pod name carrying either would forge another key. */
function cniArgs(req: PodTeardownRequest): string {
  const pairs: [string, string][] = [
    ['K8S_POD_NAMESPACE', req.podNamespace],
    ['K8S_POD_NAME', req.podName],
    ['K8S_POD_INFRA_CONTAINER_ID', req.podId],
    ['K8S_POD_UID', req.podUid],
  ];
  for (const [k, v] of pairs) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    if (typeof v !== 'string' || /[;=\x00-\x1f]/.test(v)) throw fault('InvalidArgument', `invalid ${k} for the network plugins: ${JSON.stringify(v)}`);
  }
  return ['IgnoreUnknown=1', ...pairs.map(([k, v]) => `${k}=${v}`)].join(';');
}

function checkRequest(req: PodTeardownRequest): string {
  if (!SAFE_ID.test(req.podId)) throw fault('InvalidArgument', `invalid pod sandbox id ${JSON.stringify(req.podId)}`);
  const ifName = req.ifName ?? 'eth0';
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ifName)) throw fault('InvalidArgument', `invalid interface name ${JSON.stringify(ifName)}`);
  if (typeof req.netnsPath !== 'string' || !path.isAbsolute(req.netnsPath))
    throw fault('InvalidArgument', `invalid network namespace path ${JSON.stringify(req.netnsPath)}`);
  return ifName;
}

/** The portmap plugin's form of the CRI mappings; hostPort 0 asks for no mapping (as kubelet and containerd). */
function portMappings(list: PortMapping[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const m of list) {
    if (!Number.isInteger(m.containerPort) || m.containerPort < 1 || m.containerPort > 65535)
      throw fault('InvalidArgument', `invalid container port ${m.containerPort}`);
    if (!Number.isInteger(m.hostPort) || m.hostPort < 0 || m.hostPort > 65535) throw fault('InvalidArgument', `invalid host port ${m.hostPort}`);
    if (!['tcp', 'udp', 'sctp'].includes(m.protocol)) throw fault('InvalidArgument', `invalid protocol ${JSON.stringify(m.protocol)}`);
    if (m.hostIp && m.hostIp !== '0.0.0.0' && net.isIP(m.hostIp) === 0) throw fault('InvalidArgument', `invalid host IP ${JSON.stringify(m.hostIp)}`);
    if (m.hostPort === 0) continue;
    const hostIP = m.hostIp === '0.0.0.0' ? '' : (m.hostIp ?? '');
    out.push({ hostPort: m.hostPort, containerPort: m.containerPort, protocol: m.protocol, hostIP });
  }
  return out;
}

/** The pod's addresses and interfaces from a 0.3/0.4/1.0 result (the same shape in all three). */
function podResult(raw: unknown): PodNetworkResult {
  const ips: string[] = [];
  const interfaces: PodInterface[] = [];
  if (isObject(raw)) {
    if (Array.isArray(raw.interfaces)) {
      for (const i of raw.interfaces) {
        if (isObject(i) && typeof i.name === 'string') {
          interfaces.push({
            name: i.name,
            ...(typeof i.mac === 'string' ? { mac: i.mac } : {}),
            ...(typeof i.sandbox === 'string' && i.sandbox ? { sandbox: i.sandbox } : {}),
          });
        }
      }
    }
    if (Array.isArray(raw.ips)) {
      for (const ip of raw.ips) {
        if (isObject(ip) && typeof ip.address === 'string') ips.push(ip.address.split('/')[0] ?? ip.address);
      }
    }
  }
  // CRI's `ip` is the first one; kubelet expects IPv4 there on dual-stack pods.
  ips.sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')));
  return { ips, interfaces, raw };
}

/**
 * The pod network through CNI (libcni's semantics, as iSulad and containerd use it): ADD runs
 * the list's plugins in order, each given the previous one's result; DEL runs them in reverse;
 * CHECK in order with the cached result. One operation per pod at a time.
 */
export class CniNetwork {
  private readonly cache: ResultCache;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private podCidr = '';
  private readonly busy = new Map<string, Promise<unknown>>();

  constructor(private readonly opts: CniNetworkOptions) {
    this.cache = new ResultCache(opts.cacheDir);
    this.timeoutMs = opts.pluginTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.log = opts.log;
  }

  /** Ready when the conf dir has a valid config whose plugins are all in the bin dirs. */
  status(): NetworkStatus {
    const found = findNetworkConfig(this.opts.confDir);
    if (!found.list) {
      return {
        ready: false,
        reason: NOT_READY,
        message: `Network plugin returns error: cni config uninitialized${found.problems.length ? ` (${found.problems.join('; ')})` : ''}`,
      };
    }
    const missing = this.missingPlugins(found.list);
    if (missing) {
      return {
        ready: false,
        reason: NOT_READY,
        message: `Network plugin returns error: ${missing}`,
      };
    }
    return { ready: true };
  }

  /** Which of the list's plugins are in no bin dir, said in one line; undefined when all are there. */
  private missingPlugins(list: NetworkList): string | undefined {
    const missing = list.plugins.map((p) => p.type).filter((t) => !findPlugin(t, this.opts.binDirs));
    return missing.length > 0 ? `network ${list.name}: plugin ${missing.join(', ')} not found in ${this.opts.binDirs.join(':')}` : undefined;
  }

  /** UpdateRuntimeConfig's pod CIDR: given to plugins that declare the `ipRanges` capability. */
  setPodCidr(cidr: string): void {
    this.podCidr = cidr;
  }

  setUp(req: PodNetworkRequest): Promise<PodNetworkResult> {
    return this.serial(req.podId, () => this.add(req));
  }

  tearDown(req: PodTeardownRequest): Promise<void> {
    return this.serial(req.podId, () => this.del(req));
  }

  /** Every pod network in the result cache (set up, or an ADD cut short), with its netns. */
  async cachedPods(): Promise<{ podId: string; ifName: string; netnsPath: string }[]> {
    const out: { podId: string; ifName: string; netnsPath: string }[] = [];
    for (const { podId, ifName } of this.cache.entries()) {
      const rec = await this.cache.read(podId, ifName).catch(() => undefined);
      if (rec) out.push({ podId, ifName, netnsPath: rec.netns });
    }
    return out;
  }

  check(req: PodTeardownRequest): Promise<void> {
    return this.serial(req.podId, () => this.checkNetwork(req));
  }

  private async serial<T>(podId: string, op: () => Promise<T>): Promise<T> {
    const before = this.busy.get(podId) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(op);
    this.busy.set(podId, mine);
    try {
      return await mine;
    } finally {
      if (this.busy.get(podId) === mine) this.busy.delete(podId);
    }
  }

  private currentList(): NetworkList {
    const found = findNetworkConfig(this.opts.confDir);
    if (!found.list) throw fault('FailedPrecondition', `cni config uninitialized: ${found.problems.join('; ')}`);
    return found.list;
  }

  private runtimeArgs(req: PodNetworkRequest): Record<string, unknown> {
    const args: Record<string, unknown> = { portMappings: portMappings(req.portMappings ?? []) };
    if (this.podCidr) args.ipRanges = [[{ subnet: this.podCidr }]];
    return args;
  }

  /** One plugin's stdin: its own conf, the list's name and version, its capabilities' runtime args, prevResult. */
  private pluginConfig(list: NetworkList, plugin: PluginConf, runtimeArgs: Record<string, unknown>, prevResult: unknown): Record<string, unknown> {
    const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
    const runtimeConfig: Record<string, unknown> = {};
    for (const [cap, on] of Object.entries(plugin.capabilities ?? {})) {
      if (on === true && runtimeArgs[cap] !== undefined) runtimeConfig[cap] = runtimeArgs[cap];
    }
    if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
    if (prevResult !== undefined && prevResult !== null) conf.prevResult = prevResult;
    return conf;
  }

  /** The plugin's process, started and waiting for its config; one whose binary is gone fails at its run. */
  private start(command: CniCommand, list: NetworkList, plugin: PluginConf, rec: Pick<CacheRecord, 'podId' | 'ifName' | 'netns' | 'args'>): StartedPlugin {
    const binary = findPlugin(plugin.type, this.opts.binDirs);
    if (!binary) {
      const missing = fault('FailedPrecondition', `network ${list.name}: plugin ${plugin.type} not found in ${this.opts.binDirs.join(':')}`);
      return { run: () => Promise.reject(missing), cancel: () => undefined };
    }
    return startPlugin({
      binary,
      type: plugin.type,
      command,
      containerId: rec.podId,
      netns: rec.netns,
      ifName: rec.ifName,
      args: rec.args,
      path: this.opts.binDirs.join(':'),
      timeoutMs: this.timeoutMs,
    });
  }

  /**
   * The plugins one after the other, as the CNI spec orders them: `step` runs each (given
   * the function that hands it its config); one that throws ends the turn. For DEL, the next
   * plugin's process is started once this one has its config, so its fork and start-up
   * overlap this one's run; it acts only when its own config comes, after this one has ended.
   * DEL's chain is StopPodSandbox's critical path; ADD's runs beside the pause's create and
   * start, where starting early measured nothing (docs/design.md, cri-podrun).
   */
  private async inTurn(
    command: CniCommand,
    list: NetworkList,
    plugins: PluginConf[],
    rec: CacheRecord,
    step: (plugin: PluginConf, run: (config: unknown) => Promise<unknown>) => Promise<void>,
  ): Promise<void> {
    // The process of plugins[i + 1], started while plugins[i] runs (each step runs its plugin once).
    let ahead: StartedPlugin | undefined;
    try {
      for (const [i, plugin] of plugins.entries()) {
        const run = (config: unknown): Promise<unknown> => {
          const mine = ahead ?? this.start(command, list, plugin, rec);
          ahead = undefined;
          const done = mine.run(config);
          const after = plugins[i + 1];
          if (after && command === 'DEL') ahead = this.start(command, list, after, rec);
          return done;
        };
        await step(plugin, run);
      }
    } finally {
      ahead?.cancel();
    }
  }

  private async add(req: PodNetworkRequest): Promise<PodNetworkResult> {
    const ifName = checkRequest(req);
    const list = this.currentList();
    const rec: CacheRecord = {
      kind: 'cni-result/v1',
      podId: req.podId,
      ifName,
      netns: req.netnsPath,
      args: cniArgs(req),
      runtimeArgs: this.runtimeArgs(req),
      list,
      result: null,
    };
    const missing = this.missingPlugins(list);
    if (missing) throw fault('FailedPrecondition', missing);
    if (await this.cache.read(req.podId, ifName)) throw fault('AlreadyExists', `pod ${req.podId} already has a network on ${ifName}; tear it down first`);
    // Before any plugin runs: a daemon killed from here on leaves enough to DEL.
    await this.cache.write(rec);
    let prev: unknown;
    let ran = 0;
    try {
      await this.inTurn('ADD', list, list.plugins, rec, async (plugin, run) => {
        ran++;
        prev = await run(this.pluginConfig(list, plugin, rec.runtimeArgs, prev));
      });
    } catch (e) {
      const plugin = list.plugins[ran - 1]?.type ?? '?';
      this.log.warn(`network ${list.name}: ADD of pod ${req.podId} failed at plugin ${plugin}: ${(e as Error).message}; deleting what was added`);
      // The failed plugin may have done part of its work: DEL it too, then the ones before it.
      await this.delPlugins(list, list.plugins.slice(0, ran), rec, prev).then(
        () => this.cache.remove(req.podId, ifName),
        (d: Error) => this.log.error(`network ${list.name}: DEL after the failed ADD of pod ${req.podId}: ${d.message} (kept for the next teardown)`),
      );
      throw fault('Internal', `set up pod ${req.podId} network ${list.name}: ${(e as Error).message}`);
    }
    rec.result = prev ?? null;
    await this.cache.write(rec);
    const result = podResult(prev);
    this.log.info(`network ${list.name}: pod ${req.podId} set up on ${ifName}, ips ${result.ips.join(',') || 'none'}`);
    return result;
  }

  /** DEL each plugin in reverse; all are tried, the first failure is thrown after. */
  private async delPlugins(list: NetworkList, plugins: PluginConf[], rec: CacheRecord, prev: unknown): Promise<void> {
    let first: Error | undefined;
    await this.inTurn('DEL', list, [...plugins].reverse(), rec, async (plugin, run) => {
      await run(this.pluginConfig(list, plugin, rec.runtimeArgs, prev)).catch((e: Error) => {
        first ??= e;
      });
    });
    if (first) throw first;
  }

  private async del(req: PodTeardownRequest): Promise<void> {
    const ifName = checkRequest(req);
    let rec = await this.cache.read(req.podId, ifName);
    if (!rec) {
      // No ADD on record (made before a cache, or the cache lost): DEL from today's config, as libcni does.
      const found = findNetworkConfig(this.opts.confDir);
      if (!found.list) return;
      rec = { kind: 'cni-result/v1', podId: req.podId, ifName, netns: req.netnsPath, args: cniArgs(req), runtimeArgs: {}, list: found.list, result: null };
    }
    // The netns may be gone; plugins are told its path all the same (the spec asks them to cope).
    rec.netns = req.netnsPath || rec.netns;
    try {
      await this.delPlugins(rec.list, rec.list.plugins, rec, rec.result);
    } catch (e) {
      throw fault('Internal', `tear down pod ${req.podId} network ${rec.list.name}: ${(e as Error).message}`);
    }
    this.cache.remove(req.podId, ifName);
    this.log.info(`network ${rec.list.name}: pod ${req.podId} torn down`);
  }

  private async checkNetwork(req: PodTeardownRequest): Promise<void> {
    const ifName = checkRequest(req);
    const rec = await this.cache.read(req.podId, ifName);
    if (!rec?.result) throw fault('NotFound', `pod ${req.podId} has no network set up on ${ifName}`);
    if (rec.list.cniVersion.startsWith('0.3.')) throw fault('FailedPrecondition', `network ${rec.list.name}: cniVersion ${rec.list.cniVersion} has no CHECK`);
    if (rec.list.disableCheck) return;
    const { list } = rec;
    await this.inTurn('CHECK', list, list.plugins, rec, async (plugin, run) => {
      await run(this.pluginConfig(list, plugin, rec.runtimeArgs, rec.result));
    }).catch((e: Error) => {
      throw fault('Internal', `check pod ${req.podId} network ${list.name}: ${e.message}`);
    });
  }
}
