import { formatBytes } from '../../common/units.js';
import type { Command } from '../command.js';

const yesNo = (b: boolean): string => (b ? 'yes' : 'no');

const info: Command = {
  usage: 'info',
  describe: 'Display system-wide information',
  async run(_args, ctx) {
    const i = await ctx.client().unary('SystemService/Info', {});
    const lines = [
      `Containers: ${i.containers.total}`,
      ` Running: ${i.containers.running}`,
      ` Paused: ${i.containers.paused}`,
      ` Stopped: ${i.containers.stopped}`,
      `Images: ${i.images}`,
      `Server Version: ${i.engine.serverVersion}`,
      `Storage Driver: ${i.engine.storageDriver}`,
      `Logging Driver: ${i.engine.logDriver}`,
      `Log Level: ${i.engine.logLevel}`,
      `Cgroup Driver: cgroupfs`,
      `Cgroup Version: ${i.engine.cgroup.version}`,
      `Cgroup Controllers: ${i.engine.cgroup.controllers.join(' ') || 'none'}`,
      `Default Runtime: ${i.engine.defaultRuntime}`,
      `Runtimes: ${i.engine.runtimes.join(' ')}`,
      `Kernel Features: ${Object.entries(i.engine.kernel)
        .map(([k, v]) => `${k}=${yesNo(v)}`)
        .join(' ')}`,
      `Kernel Version: ${i.host.kernelVersion}`,
      `Operating System: ${i.host.operatingSystem} ${i.host.osVersion}`.trimEnd(),
      `OSType: linux`,
      `Architecture: ${i.host.architecture}`,
      `CPUs: ${i.host.cpus}`,
      `CPU Model: ${i.host.cpuModel}`,
      `Total Memory: ${formatBytes(i.host.memTotalBytes)}`,
      `Name: ${i.host.hostname}`,
      `iSulad Root Dir: ${i.engine.rootDir}`,
      `iSulad State Dir: ${i.engine.stateDir}`,
      `Garbage Collector: ${i.gc.length} leftover(s)`,
    ];
    for (const g of i.gc) {
      lines.push(` ${g.id.slice(0, 12)} ${g.name} since ${g.since}`);
      for (const p of g.processes) lines.push(`   pid ${p.pid} state ${p.state} wchan ${p.wchan}`);
    }
    ctx.out(lines.join('\n'));
    return 0;
  },
};
export default info;
