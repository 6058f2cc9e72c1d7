import type { ContainerSummary } from '../api/containers.js';
import type { GcEntry } from '../gc/collector.js';
import type { Container } from './container.js';
import { ZERO_TIME } from './record.js';
import { etcFilePath } from './spec.js';

/** The container as `isula inspect` shows it: Docker's layout, iSulad's names. */
export function inspectView(c: Container, gc?: GcEntry): Record<string, unknown> {
  const { config: cfg, host } = c.record;
  const s = cfg.State;
  return {
    Id: cfg.ID,
    Created: cfg.Created,
    Path: cfg.Path,
    Args: cfg.Args,
    State: {
      Status: c.status,
      Running: s.Running,
      Paused: s.Paused,
      Restarting: s.Restarting,
      OOMKilled: s.OOMKilled,
      Dead: s.Dead,
      Pid: s.Running ? s.Pid : 0,
      ExitCode: s.ExitCode,
      Error: s.Error,
      StartedAt: s.StartedAt,
      FinishedAt: s.FinishedAt,
      ...(s.Health ? { Health: s.Health } : {}),
    },
    GarbageCollector: gc
      ? { InGc: true, Since: gc.since, Processes: gc.processes.map((p) => ({ Pid: p.pid, State: p.state, Wchan: p.wchan, Command: p.comm })) }
      : { InGc: false },
    Image: cfg.Image,
    ImageType: cfg.ImageType,
    ...(cfg.ImageId ? { ImageId: cfg.ImageId } : {}),
    ResolvConfPath: etcFilePath(c, 'resolv.conf'),
    HostnamePath: etcFilePath(c, 'hostname'),
    HostsPath: etcFilePath(c, 'hosts'),
    LogPath: cfg.LogPath,
    Name: cfg.Name,
    RestartCount: cfg.RestartCount,
    BaseFs: cfg.BaseFs,
    HostConfig: {
      Runtime: host.Runtime,
      SystemContainer: host.SystemContainer,
      ExternalRootfs: host.ExternalRootfs,
      ReadonlyRootfs: host.ReadonlyRootfs,
      Binds: host.Mounts.filter((m) => m.type === 'bind').map((m) => `${m.source}:${m.destination}:${m.readOnly ? 'ro' : 'rw'}`),
      Tmpfs: Object.fromEntries(host.Mounts.filter((m) => m.type === 'tmpfs').map((m) => [m.destination, m.options ?? ''])),
      Memory: host.Resources.memory ?? 0,
      MemorySwap: host.Resources.memorySwap ?? 0,
      CpuShares: host.Resources.cpuShares ?? 0,
      NanoCpus: host.Resources.nanoCpus ?? 0,
      CpuPeriod: host.Resources.cpuPeriod ?? 0,
      CpuQuota: host.Resources.cpuQuota ?? 0,
      CpusetCpus: host.Resources.cpusetCpus ?? '',
      CpusetMems: host.Resources.cpusetMems ?? '',
      PidsLimit: host.Resources.pidsLimit ?? 0,
      FilesLimit: host.Resources.filesLimit ?? 0,
      CapAdd: host.CapAdd,
      CapDrop: host.CapDrop,
      Privileged: host.Privileged,
      Devices: host.Devices.map((d) => ({ PathOnHost: d.hostPath, PathInContainer: d.containerPath, CgroupPermissions: d.permissions })),
      Ulimits: host.Ulimits.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
      HookSpec: host.HookSpec,
      RestartPolicy: { Name: host.RestartPolicy.name, MaximumRetryCount: host.RestartPolicy.maximumRetryCount },
      AutoRemove: host.AutoRemove,
      LogConfig: host.LogConfig,
      CgroupParent: host.CgroupParent,
      NetworkMode: host.NetworkMode,
    },
    Mounts: [...host.ImageMounts, ...host.Mounts].map((m) => ({
      Type: m.type,
      Source: m.source,
      Destination: m.destination,
      Mode: m.readOnly ? 'ro' : 'rw',
      RW: !m.readOnly,
      Propagation: m.propagation ?? (m.type === 'bind' ? 'rprivate' : ''),
    })),
    Config: {
      Hostname: cfg.Config.Hostname,
      User: cfg.Config.User,
      Env: cfg.Config.Env,
      Cmd: cfg.Config.Cmd,
      Entrypoint: cfg.Config.Entrypoint,
      WorkingDir: cfg.Config.WorkingDir,
      Labels: cfg.Config.Labels,
      Tty: cfg.Config.Tty,
      OpenStdin: cfg.Config.OpenStdin,
      StopSignal: cfg.Config.StopSignal,
      Image: cfg.Image,
      ...(cfg.Config.ExposedPorts ? { ExposedPorts: cfg.Config.ExposedPorts } : {}),
      ...(cfg.Config.Volumes ? { Volumes: cfg.Config.Volumes } : {}),
      ...(cfg.Config.Healthcheck
        ? {
            Healthcheck: {
              Test: cfg.Config.Healthcheck.Test,
              Interval: cfg.Config.Healthcheck.IntervalMs * 1e6,
              Timeout: cfg.Config.Healthcheck.TimeoutMs * 1e6,
              StartPeriod: cfg.Config.Healthcheck.StartPeriodMs * 1e6,
              Retries: cfg.Config.Healthcheck.Retries,
              ExitOnUnhealthy: cfg.Config.Healthcheck.ExitOnUnhealthy,
            },
          }
        : {}),
    },
  };
}

export function summaryOf(c: Container, inGc = false): ContainerSummary {
  const cfg = c.record.config;
  const s = cfg.State;
  return {
    id: cfg.ID,
    name: cfg.Name,
    image: cfg.Image,
    command: [cfg.Path, ...cfg.Args].join(' '),
    created: cfg.Created,
    status: c.status,
    state: c.status,
    exitCode: s.ExitCode,
    startedAt: s.StartedAt === ZERO_TIME ? '' : s.StartedAt,
    finishedAt: s.FinishedAt === ZERO_TIME ? '' : s.FinishedAt,
    labels: cfg.Config.Labels,
    runtime: c.record.host.Runtime,
    pid: s.Running ? s.Pid : 0,
    inGc,
    ...(s.Running && s.Health ? { health: s.Health.Status === 'starting' ? 'health: starting' : s.Health.Status } : {}),
  };
}
