import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary, type DescMethodUnary, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { RuntimeService } from '../../src/api/cri/gen/api_pb.js';
import { criPath } from '../../src/api/cri/services.js';
import { run, type RunResult, TestEngine } from './engine.js';
import { freePort } from './registry.js';

/** A CRI v1 client on grpc-js, typed from the project's own runtime.v1 descriptors. */
export function criClient(sock: string, options: grpc.ChannelOptions = {}): grpc.Client {
  return new grpc.Client(`unix:${sock}`, grpc.credentials.createInsecure(), options);
}

export function criCall<M extends DescMethodUnary>(
  client: grpc.Client,
  method: M,
  request: MessageInitShape<M['input']>,
  options: { deadline?: Date; metadata?: grpc.Metadata } = {},
): Promise<MessageShape<M['output']>> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      criPath(method),
      (r: MessageInitShape<M['input']>) => Buffer.from(toBinary(method.input, create(method.input, r))),
      (b: Buffer) => fromBinary(method.output, b),
      request,
      options.metadata ?? new grpc.Metadata(),
      { deadline: options.deadline },
      (err, res) => (err ? reject(err) : resolve(res as MessageShape<M['output']>)),
    ),
  );
}

/** The call's failure, for asserting its code and message. */
export async function criFailure(p: Promise<unknown>): Promise<grpc.ServiceError> {
  return p.then(
    () => {
      throw new Error('the call succeeded');
    },
    (e: grpc.ServiceError) => e,
  );
}

/**
 * crictl (Kubernetes' CRI client, a grpc-go program), beside the repository as shared/ is
 * (`../shared/tools/crictl`), or where CRICTL names it; undefined when absent.
 */
export function findCrictl(): string | undefined {
  for (const candidate of [process.env.CRICTL, path.resolve('../shared/tools/crictl')]) {
    if (candidate && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function crictl(binary: string, sock: string, args: string[]): Promise<RunResult> {
  return run(binary, ['-r', `unix://${sock}`, '-i', `unix://${sock}`, '--timeout', '10s', ...args]);
}

/**
 * A daemon with the CRI services on (`args`, `config` added to its flags and daemon.json) and
 * the pause image `pause`, built by rootfs-samples/pause-image.sh into `work`, loaded.
 */
export async function startCriEngine(work: string, pause: string, args: string[], config: Record<string, unknown>): Promise<TestEngine> {
  const archive = path.join(work, 'pause.tar');
  execFileSync('rootfs-samples/pause-image.sh', ['--archive', archive, '--name', pause], { stdio: ['ignore', 'ignore', 'inherit'] });
  const engine = await TestEngine.start(args, {
    'enable-cri-v1': true,
    'pod-sandbox-image': pause,
    'websocket-server-listening-port': await freePort(),
    ...config,
  });
  const loaded = await engine.isula(['load', '-i', archive]);
  if (loaded.code !== 0) throw new Error(`isula load of the pause image: ${loaded.stderr}`);
  return engine;
}

/**
 * A CNI network as a site would write one, in a new `<work>/net.d`: a bridge with host-local
 * addresses from `subnets` (kept under `<work>/ipam/<name>`), then `more` plugins and loopback.
 * Returns the daemon.json keys that use it with the plugins in `binDir`.
 */
export function bridgeNetwork(work: string, name: string, bridge: string, subnets: string[], binDir: string, more: object[] = []): Record<string, string> {
  const confDir = path.join(work, 'net.d');
  fs.mkdirSync(confDir);
  const ipam = { type: 'host-local', ranges: subnets.map((subnet) => [{ subnet }]), dataDir: path.join(work, 'ipam') };
  const plugins = [{ type: 'bridge', bridge, isGateway: true, ipMasq: false, ipam }, ...more, { type: 'loopback' }];
  fs.writeFileSync(path.join(confDir, `10-${name}.conflist`), JSON.stringify({ cniVersion: '1.0.0', name, plugins }));
  return { 'network-plugin': 'cni', 'cni-conf-dir': confDir, 'cni-bin-dir': binDir };
}

/** Where Debian's containernetworking-plugins are. */
export const CNI_PLUGINS = '/usr/lib/cni';

/** A test's skip reason when one of `plugins` is not installed; false when all are. */
export function missingCniPlugins(plugins: string[]): string | false {
  return plugins.every((p) => fs.existsSync(path.join(CNI_PLUGINS, p))) ? false : `needs containernetworking-plugins in ${CNI_PLUGINS}`;
}

/** Removes every pod through CRI (pods hold pinned network namespaces) before an engine's directory goes; failures are ignored. */
export async function removeAllPods(client: grpc.Client): Promise<void> {
  const rt = RuntimeService.method;
  for (const pod of (await criCall(client, rt.listPodSandbox, {}).catch(() => ({ items: [] }))).items) {
    await criCall(client, rt.removePodSandbox, { podSandboxId: pod.id }).catch(() => undefined);
  }
}

/** Deletes a test's bridge. */
export function deleteBridge(bridge: string): void {
  try {
    execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
  } catch {
    // never made, or gone with its last veth
  }
}
