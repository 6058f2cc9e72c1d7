import type { PullProgress } from '../../api/images.js';
import { formatBytes } from '../../common/units.js';

/**
 * `docker pull`'s output: on a terminal one line per layer, redrawn in place with a bar while
 * bytes move; otherwise a plain line per change of a layer's status (never one per chunk).
 */
export class ProgressPrinter {
  private readonly order: string[] = [];
  private readonly shown = new Map<string, string>();

  constructor(
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
  ) {}

  update(p: PullProgress): void {
    if (p.status !== undefined) {
      this.write(`${p.status}\n`);
      return;
    }
    const layer = p.layer;
    if (!layer) return;
    const line = `${layer.id}: ${layer.status}${this.tty ? bar(layer.current, layer.total) : ''}`;
    const index = this.order.indexOf(layer.id);
    if (!this.tty) {
      // Only a change of status: byte counts would flood a log file.
      if (this.shown.get(layer.id) === layer.status) return;
      this.shown.set(layer.id, layer.status);
      this.write(`${layer.id}: ${layer.status}\n`);
      return;
    }
    if (index < 0) {
      this.order.push(layer.id);
      this.write(`${line}\n`);
      return;
    }
    const up = this.order.length - index;
    // Up to the layer's line, clear it, write, and back down to below the last line.
    this.write(`\x1b[${up}A\r\x1b[2K${line}\x1b[${up}B\r`);
  }
}

function bar(current: number | undefined, total: number | undefined): string {
  if (current === undefined) return '';
  if (!total) return `  ${formatBytes(current)}`;
  const width = 50;
  const filled = Math.min(width, Math.floor((current / total) * width));
  const arrow = filled < width ? '>' : '';
  return ` [${'='.repeat(Math.max(0, filled - (arrow ? 1 : 0)))}${arrow}${' '.repeat(width - filled)}]  ${formatBytes(current)}/${formatBytes(total)}`;
}
