import fs from 'node:fs';
import path from 'node:path';
import { generalError, nameConflict, notFound } from '../api/errors.js';
import { fsyncDirAsync, removeStaleTemps } from '../sys/atomic-write.js';
import type { Logger } from '../sys/log.js';
import { SharedFlush } from '../sys/shared-flush.js';
import { Container } from './container.js';
import { type ContainerConfigV2, type HostConfig, ZERO_TIME } from './record.js';

/** All containers in memory, indexed by id and name; each one's files live in its own dir. */
export class ContainerStore {
  private readonly byId = new Map<string, Container>();
  private readonly byName = new Map<string, Container>();

  /** fsyncs of this directory (a new container's entry), one shared by the creates asking at about the same time. */
  readonly rootSync: SharedFlush;

  constructor(readonly root: string) {
    this.rootSync = new SharedFlush(() => fsyncDirAsync(root));
  }

  dirOf(id: string): string {
    return path.join(this.root, id);
  }

  /**
   * Loads every container directory that has both records. One that lacks them, or holds a
   * record that does not parse, is a create the daemon was killed in (both are written
   * before a create is answered): it is removed, unless `keep` says another owner (the
   * garbage collector) has it. So is a never started one whose rootfs `made` says was never
   * made (the record and the rootfs are written side by side). Temp files of writes a crash
   * cut short go too.
   */
  load(log: Logger, keep: (id: string) => boolean, made: (config: ContainerConfigV2) => boolean = () => true): Container[] {
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(this.root);
    } catch {
      return [];
    }
    const loaded: Container[] = [];
    for (const id of entries) {
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      const dir = this.dirOf(id);
      let config: ContainerConfigV2;
      let host: HostConfig;
      try {
        config = JSON.parse(fs.readFileSync(path.join(dir, 'config.v2.json'), 'utf8')) as ContainerConfigV2;
        host = JSON.parse(fs.readFileSync(path.join(dir, 'hostconfig.json'), 'utf8')) as HostConfig;
      } catch (e) {
        const torn = (e as NodeJS.ErrnoException).code === 'ENOENT' || e instanceof SyntaxError;
        if (torn && !keep(id)) {
          log.warn(`removing container directory ${id}: a create that never finished (${(e as Error).message})`);
          fs.rmSync(dir, { recursive: true, force: true });
        } else {
          log.warn(`skipping container ${id}: cannot read its records: ${(e as Error).message}`);
        }
        continue;
      }
      if (!config.State?.Running && config.State?.StartedAt === ZERO_TIME && !keep(id) && !made(config)) {
        log.warn(`removing container directory ${id}: a create that never finished (its rootfs was never made)`);
        fs.rmSync(dir, { recursive: true, force: true });
        continue;
      }
      removeStaleTemps(dir);
      const c = new Container({ config, host }, dir);
      try {
        this.add(c);
      } catch (e) {
        // A removed container the garbage collector still holds, its name taken since.
        log.warn(`skipping container ${id}: ${(e as Error).message}`);
        continue;
      }
      loaded.push(c);
    }
    return loaded;
  }

  /** Throws iSulad's name conflict (exit code 3) when `name` belongs to a container. */
  assertNameFree(name: string): void {
    const holder = this.byName.get(name);
    if (holder) {
      throw nameConflict(
        `Conflict. The name "${name}" is already in use by container ${holder.id}. You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
  }

  add(c: Container): void {
    this.assertNameFree(c.name);
    this.byId.set(c.id, c);
    this.byName.set(c.name, c);
  }

  delete(c: Container): void {
    this.byId.delete(c.id);
    if (this.byName.get(c.name) === c) this.byName.delete(c.name);
  }

  /**
   * Gives `c` its new name while the record saying so is written; the old one stays held
   * until `done` says whether the write succeeded: on failure the container gets it back.
   */
  rename(c: Container, newName: string): (written: boolean) => void {
    this.assertNameFree(newName);
    const oldName = c.name;
    this.byName.set(newName, c);
    c.record.config.Name = newName;
    return (written) => {
      const dropped = written ? oldName : newName;
      if (this.byName.get(dropped) === c) this.byName.delete(dropped);
      if (!written) c.record.config.Name = oldName;
    };
  }

  /** By full id, by name, or by a unique id prefix, as Docker resolves references. */
  find(ref: string): Container | undefined {
    const exact = this.byId.get(ref) ?? this.byName.get(ref) ?? this.byName.get(ref.replace(/^\//, ''));
    if (exact) return exact;
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    const matches = [...this.byId.values()].filter((c) => c.id.startsWith(ref));
    if (matches.length > 1) throw generalError(`Multiple IDs found with provided prefix: ${ref}`);
    return matches[0];
  }

  get(ref: string): Container {
    const c = this.find(ref);
    if (!c) throw notFound(`No such container: ${ref}`);
    return c;
  }

  all(): Container[] {
    return [...this.byId.values()];
  }
}
