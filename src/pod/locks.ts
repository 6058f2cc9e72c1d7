/**
 * Work run one at a time per pod, in the order asked (one failing does not stop the next): the
 * pod verbs (a stop never races a remove or a container create) and the pod store's record
 * writes (a delete never races a save still under way) each keep one.
 */
export class PodLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const tail = this.tails.get(id) ?? Promise.resolve();
    const result = tail.then(fn, fn);
    const settled = result.catch(() => undefined);
    this.tails.set(id, settled);
    void settled.then(() => {
      if (this.tails.get(id) === settled) this.tails.delete(id);
    });
    return result;
  }
}
