import { invalidArgs } from '../api/errors.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** `isula rename OLD NEW`. */
export function renameContainer(ctx: EngineContext, c: Container, newName: string): Promise<void> {
  return c.lock.run(async () => {
    const name = newName.replace(/^\//, '');
    if (!NAME_RE.test(name)) throw invalidArgs(`Invalid container name (${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if (name === c.name) throw invalidArgs(`Renaming a container with the same name as its current name`);
    const oldName = c.name;
    const done = ctx.store.rename(c, name);
    try {
      await c.save();
    } catch (e) {
      done(false);
      throw e;
    }
    done(true);
    ctx.events.emit('container', 'rename', c.id, { name, oldName });
  });
}
