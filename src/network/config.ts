import fs from 'node:fs';
import path from 'node:path';
import { readBoundedRegularFileSync } from '../sys/bounded-read.js';

/*
 * The network configuration, found as libcni finds it: the conf dir's *.conflist, *.conf and
 * *.json files in file-name order, the first valid one wins; a .conf/.json holds one plugin
 * and is wrapped as a list of one. Each file is bounded; an invalid one is skipped with its
 * reason, so a stray file does not hide a good one behind it.
 */

/** Config versions whose results have the `ips`/`interfaces` form this code reads. */
export const SUPPORTED_VERSIONS: readonly string[] = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'];
const MAX_CONFIG_BYTES = 1024 * 1024;
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** A plugin type names a file in a bin dir: no path separators, no dot files. */
const PLUGIN_TYPE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export type PluginConf = { type: string; capabilities?: Record<string, unknown> } & Record<string, unknown>;

export interface NetworkList {
  name: string;
  cniVersion: string;
  disableCheck: boolean;
  plugins: PluginConf[];
}

export class ConfigError extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkPlugin(p: unknown, where: string): PluginConf {
  if (!isObject(p)) throw new ConfigError(`${where}: not an object`);
  if (typeof p.type !== 'string' || !PLUGIN_TYPE.test(p.type)) throw new ConfigError(`${where}: invalid plugin type ${JSON.stringify(p.type)}`);
  if (p.capabilities !== undefined && !isObject(p.capabilities)) throw new ConfigError(`${where}: capabilities is not an object`);
  return p as PluginConf;
}

/** Parses and validates one config file's text; `single` for a .conf/.json (one plugin). */
export function parseNetworkConfig(text: string, single: boolean): NetworkList {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`invalid JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw new ConfigError('not a JSON object');
  const { name, cniVersion } = doc;
  if (typeof name !== 'string' || !NETWORK_NAME.test(name)) throw new ConfigError(`invalid network name ${JSON.stringify(name)}`);
  if (typeof cniVersion !== 'string' || !SUPPORTED_VERSIONS.includes(cniVersion)) {
    throw new ConfigError(`unsupported cniVersion ${JSON.stringify(cniVersion)} (supported: ${SUPPORTED_VERSIONS.join(', ')})`);
  }
  if (doc.disableCheck !== undefined && typeof doc.disableCheck !== 'boolean') throw new ConfigError('disableCheck is not a boolean');
  let plugins: PluginConf[];
  if (single) {
    plugins = [checkPlugin(doc, 'plugin')];
  } else {
    if (!Array.isArray(doc.plugins) || doc.plugins.length === 0) throw new ConfigError('no plugins in the list');
    plugins = doc.plugins.map((p, i) => checkPlugin(p, `plugin ${i}`));
  }
  return { name, cniVersion, disableCheck: doc.disableCheck === true, plugins };
}

export interface FoundConfig {
  list?: NetworkList;
  file?: string;
  /** Why each skipped file was skipped, or why there is none. */
  problems: string[];
}

/** The first valid network config of `confDir` in file-name order (synchronous: small files, called by Status). */
export function findNetworkConfig(confDir: string): FoundConfig {
  const problems: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(confDir);
  } catch (e) {
    return { problems: [`cannot read ${confDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`] };
  }
  const candidates = names.filter((n) => /\.(conflist|conf|json)$/.test(n)).sort();
  for (const n of candidates) {
    const file = path.join(confDir, n);
    try {
      const text = readBoundedRegularFileSync(file, MAX_CONFIG_BYTES).toString('utf8');
      return { list: parseNetworkConfig(text, !n.endsWith('.conflist')), file, problems };
    } catch (e) {
      problems.push(`${file}: ${(e as Error).message}`);
    }
  }
  if (candidates.length === 0) problems.push(`no network config found in ${confDir}`);
  return { problems };
}

/** The first executable regular file named `type` in the bin dirs (libcni's FindInPath). */
export function findPlugin(type: string, binDirs: readonly string[]): string | undefined {
  for (const dir of binDirs) {
    const file = path.join(dir, type);
    try {
      const st = fs.statSync(file);
      if (st.isFile() && (st.mode & 0o111) !== 0) return file;
    } catch {
      // not in this dir
    }
  }
  return undefined;
}
