import { generalError } from '../api/errors.js';
import type { Runtime } from './runtime.js';

/**
 * The daemon's runtimes by name (iSulad's rt_ops table). A container names its runtime in
 * its record; the container layer asks the table for it, and never imports a runtime itself.
 */
export class RuntimeTable {
  private readonly byName = new Map<string, Runtime>();

  /** `aliases` maps further names (any case) to a runtime's own name, e.g. lxc -> lcr. */
  constructor(runtimes: Runtime[], aliases: Record<string, string>) {
    for (const r of runtimes) this.byName.set(r.name, r);
    for (const [alias, name] of Object.entries(aliases)) {
      const r = this.byName.get(name);
      if (r) this.byName.set(alias.toLowerCase(), r);
    }
  }

  /** The runtime called `name` or one of its aliases, in any case. */
  find(name: string): Runtime | undefined {
    return this.byName.get(name.toLowerCase());
  }

  /** The runtime a container's record names; one this daemon lacks fails the verb, clearly. */
  get(name: string): Runtime {
    const r = this.find(name);
    if (!r) throw generalError(`Runtime ${name} of this container is not available in this daemon`);
    return r;
  }

  all(): Runtime[] {
    return [...new Set(this.byName.values())];
  }
}
