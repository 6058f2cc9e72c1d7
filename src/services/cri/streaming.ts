// RuntimeService Exec, Attach and PortForward: check the request, then hand back a single-use
// URL on the streaming server (the session itself runs there).
import { failedPrecondition, invalidArgs } from '../../api/errors.js';
import { RuntimeService } from '../../api/cri/gen/api_pb.js';
import type { AttachRequest, ExecRequest, PortForwardRequest } from '../../streaming/index.js';
import { type CriHandler, criUnary } from './handlers.js';

/** What the handlers need of the streaming server. */
export interface StreamingUrls {
  execUrl(request: ExecRequest): string;
  attachUrl(request: AttachRequest): string;
  portForwardUrl(request: PortForwardRequest): string;
}

/** How the handlers find what a request names; each throws NotFound (a typed EngineError) for an unknown id. */
export interface StreamingLookup {
  /** The container's full id (a request may give a unique prefix) and whether it runs. */
  container(id: string): Promise<{ id: string; running: boolean }>;
  /** The pod's full id and whether its sandbox is ready. */
  pod(id: string): Promise<{ id: string; ready: boolean }>;
}

type Streams = { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean };

/** Kubelet's rules for a remote command, and the brief's: some output, and no stderr beside a TTY (it merges into stdout). */
function checkStreams(what: string, s: Streams): void {
  if (!s.stdout && !s.stderr) throw invalidArgs(`${what}: one of stdout or stderr must be set`);
  if (s.tty && s.stderr) throw invalidArgs(`${what}: tty and stderr cannot both be true (a terminal merges stderr into stdout)`);
}

async function runningContainer(lookup: StreamingLookup, what: string, id: string): Promise<string> {
  if (id === '') throw invalidArgs(`${what}: missing required container_id`);
  const found = await lookup.container(id);
  if (!found.running) throw failedPrecondition(`${what}: container ${found.id} is not running`);
  return found.id;
}

export async function execUrl(urls: StreamingUrls, lookup: StreamingLookup, req: ExecRequest): Promise<string> {
  checkStreams('exec', req);
  if (req.cmd.length === 0 || req.cmd[0] === '') throw invalidArgs('exec: missing the command to run (cmd is empty)');
  const containerId = await runningContainer(lookup, 'exec', req.containerId);
  return urls.execUrl({ containerId, cmd: [...req.cmd], tty: req.tty, stdin: req.stdin, stdout: req.stdout, stderr: req.stderr });
}

export async function attachUrl(urls: StreamingUrls, lookup: StreamingLookup, req: AttachRequest): Promise<string> {
  checkStreams('attach', req);
  const containerId = await runningContainer(lookup, 'attach', req.containerId);
  return urls.attachUrl({ containerId, tty: req.tty, stdin: req.stdin, stdout: req.stdout, stderr: req.stderr });
}

export async function portForwardUrl(urls: StreamingUrls, lookup: StreamingLookup, req: { podSandboxId: string; port: number[] }): Promise<string> {
  if (req.podSandboxId === '') throw invalidArgs('port-forward: missing required pod_sandbox_id');
  for (const port of req.port) if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalidArgs(`port-forward: invalid port ${port}`);
  const pod = await lookup.pod(req.podSandboxId);
  if (!pod.ready) throw failedPrecondition(`port-forward: pod ${pod.id} is not ready`);
  return urls.portForwardUrl({ podId: pod.id });
}

/** The three RuntimeService handlers, for runtime.ts's table. */
export function criStreamingHandlers(urls: StreamingUrls, lookup: StreamingLookup): CriHandler[] {
  const method = RuntimeService.method;
  return [
    criUnary(method.exec, async (req) => ({ url: await execUrl(urls, lookup, req) })),
    criUnary(method.attach, async (req) => ({ url: await attachUrl(urls, lookup, req) })),
    criUnary(method.portForward, async (req) => ({ url: await portForwardUrl(urls, lookup, req) })),
  ];
}
