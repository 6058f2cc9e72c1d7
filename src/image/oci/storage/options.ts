/**
 * `storage-opts` (daemon.json / --storage-opt) for the OCI store. iSulad's overlay2 keys are
 * accepted where they mean something here; keys it knows that need what this engine lacks
 * (project quotas) and unknown keys are refused at daemon start, naming the key.
 */
import { invalidArgs } from '../../../api/errors.js';

export interface StorageOptions {
  /** iSulad checks the kernel version unless set; this engine asks /proc/filesystems instead, so it changes nothing. */
  overrideKernelCheck: boolean;
  /** Extra overlay mount options, comma separated (`overlay2.mountopt`). */
  mountOptions: string;
  /** Most uncompressed bytes one layer may hold (`overlay2.layer_max_size`): a tar bomb stops here. */
  layerMaxSize: number;
  /** Unpacking stops when the store's filesystem would have less free than this (`overlay2.min_free_space`). */
  minFreeSpace: number;
}

export const DEFAULT_LAYER_MAX_SIZE = 10 * 1024 ** 3;
export const DEFAULT_MIN_FREE_SPACE = 256 * 1024 ** 2;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4 };

/** `10G`, `512m`, `1048576`: binary units, as iSulad's util_parse_byte_size_string. */
export function parseByteSize(value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return undefined;
  const n = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(n) ? n : undefined;
}

function bool(key: string, value: string): boolean {
  if (/^(1|true)$/i.test(value)) return true;
  if (/^(0|false)$/i.test(value)) return false;
  throw invalidArgs(`storage-opt ${key}: ${JSON.stringify(value)} is not a boolean (true or false)`);
}

function size(key: string, value: string, min: number): number {
  const n = parseByteSize(value);
  if (n === undefined || n < min) throw invalidArgs(`storage-opt ${key}: ${JSON.stringify(value)} is not a size of at least ${min} bytes (e.g. 10G)`);
  return n;
}

export function parseStorageOpts(opts: readonly string[]): StorageOptions {
  const out: StorageOptions = { overrideKernelCheck: false, mountOptions: '', layerMaxSize: DEFAULT_LAYER_MAX_SIZE, minFreeSpace: DEFAULT_MIN_FREE_SPACE };
  for (const opt of opts) {
    const eq = opt.indexOf('=');
    if (eq <= 0) throw invalidArgs(`storage-opt ${JSON.stringify(opt)}: expected key=value`);
    const key = opt.slice(0, eq).trim().toLowerCase();
    const value = opt.slice(eq + 1).trim();
    switch (key) {
      case 'overlay2.override_kernel_check':
        out.overrideKernelCheck = bool(key, value);
        break;
      case 'overlay2.mountopt':
        if (/[\s\0]/.test(value)) throw invalidArgs(`storage-opt ${key}: mount options may not hold white space`);
        out.mountOptions = value;
        break;
      case 'overlay2.layer_max_size':
        out.layerMaxSize = size(key, value, 1024 * 1024);
        break;
      case 'overlay2.min_free_space':
        out.minFreeSpace = size(key, value, 0);
        break;
      case 'overlay2.skip_mount_home':
        // iSulad bind-mounts the overlay home privately unless set; this engine never does.
        bool(key, value);
        break;
      case 'overlay2.size':
      case 'overlay2.basesize':
        throw invalidArgs(`storage-opt ${key}: container size quotas (XFS project quota) are not supported by this engine`);
      default:
        throw invalidArgs(
          `storage-opt ${key}: unknown option (known: overlay2.override_kernel_check, overlay2.mountopt, overlay2.layer_max_size, overlay2.min_free_space, overlay2.skip_mount_home)`,
        );
    }
  }
  return out;
}
