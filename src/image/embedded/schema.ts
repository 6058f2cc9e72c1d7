/**
 * The embedded manifest's fields and the checks that need no file system
 * (lcr:src/json/schema/embedded/*.json, src/daemon/modules/image/embedded/lim.c).
 */
import { type EngineError, generalError } from '../../api/errors.js';
import { isReservedImageName, parseImageReference } from './reference.js';

export const MANIFEST_MEDIA_TYPE = 'application/embedded.manifest+json';
export const LAYER_SQUASHFS = 'application/squashfs.image.rootfs.diff.img';
export const LAYER_DIR = 'application/bind.image.rootfs.diff.dir';
/** LAYER_NUM_MAX */
export const MAX_LAYERS = 125;

export interface EmbeddedLayer {
  mediaType: string;
  size: number;
  digest: string;
  pathInHost: string;
  pathInContainer: string;
}

export interface EmbeddedConfig {
  ENV?: string[];
  ENTRYPOINT?: string[];
  WORKDIR?: string;
}

export interface EmbeddedManifest {
  schemaVersion: 1;
  mediaType: string;
  imageName: string;
  created: string;
  config: EmbeddedConfig;
  layers: EmbeddedLayer[];
}

// util_valid_time_tz; the fraction's separator is a literal '.', where iSulad's POSIX regex takes any character.
const CREATED = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]{1,9})?(?:Z|[+-]([0-9]{2}):([0-9]{2}))$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const TOP_KEYS = ['schemaVersion', 'mediaType', 'imageName', 'created', 'config', 'layers'];
const CONFIG_KEYS = ['ENV', 'ENTRYPOINT', 'WORKDIR'];
const LAYER_KEYS = ['mediaType', 'size', 'digest', 'pathInHost', 'pathInContainer'];

type JsonObject = Record<string, unknown>;

/** Every manifest rejection: one line, exit code 1 like `isula load`. */
export function invalidManifest(message: string): EngineError {
  return generalError(`Invalid manifest: ${message}`);
}

/**
 * Checks a parsed manifest field by field, in lim.c's order, and returns it with absent optional
 * layer fields filled in ('' and 0, as iSulad's parser leaves them).
 */
export function validateManifest(value: unknown): EmbeddedManifest {
  const top = asObject(value, 'the manifest');
  rejectUnknownKeys(top, TOP_KEYS, '');
  if (!Array.isArray(top.layers)) throw invalidManifest('layers must be an array');
  const rawLayers: unknown[] = top.layers;
  if (rawLayers.length < 1 || rawLayers.length > MAX_LAYERS) {
    throw invalidManifest(`layers must hold 1 to ${MAX_LAYERS} entries, got ${rawLayers.length}`);
  }
  if (top.schemaVersion !== 1) throw invalidManifest(`schemaVersion must be 1, got ${show(top.schemaVersion)}`);
  if (top.mediaType !== MANIFEST_MEDIA_TYPE) {
    throw invalidManifest(`mediaType must be "${MANIFEST_MEDIA_TYPE}", got ${show(top.mediaType)}`);
  }
  const imageName = validateImageName(top.imageName);
  const created = top.created;
  if (typeof created !== 'string' || !isRealTime(created)) {
    throw invalidManifest(`created ${show(created)} is not an RFC3339 time`);
  }
  const config = validateConfig(top.config);
  const layers = rawLayers.map((layer, i) => validateLayer(layer, i));
  return { schemaVersion: 1, mediaType: MANIFEST_MEDIA_TYPE, imageName, created, config, layers };
}

/** CREATED's form, and a date and time that exist: month 1-12, a day of that month, 23:59:59 at most. */
function isRealTime(created: string): boolean {
  const m = CREATED.exec(created);
  if (!m) return false;
  const [year, month, day, hour, minute, second, offHours = 0, offMinutes = 0] = m.slice(1).map((f) => Number(f ?? 0));
  const leap = year! % 4 === 0 && (year! % 100 !== 0 || year! % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month! - 1];
  return days !== undefined && day! >= 1 && day! <= days && hour! <= 23 && minute! <= 59 && second! <= 59 && offHours <= 23 && offMinutes <= 59;
}

function validateImageName(value: unknown): string {
  if (value === undefined) throw invalidManifest('imageName is required');
  if (typeof value !== 'string') throw invalidManifest(`imageName must be a string, got ${show(value)}`);
  // Checked before the grammar so that "none" reads as reserved rather than as missing a tag.
  if (isReservedImageName(value)) throw invalidManifest(`imageName ${show(value)} is reserved`);
  if (!parseImageReference(value)) {
    throw invalidManifest(`imageName ${show(value)} is not a valid name:tag reference (tag required, at most 255 characters)`);
  }
  return value;
}

function validateConfig(value: unknown): EmbeddedConfig {
  if (value === undefined) return {};
  const raw = asObject(value, 'config');
  rejectUnknownKeys(raw, CONFIG_KEYS, 'config.');
  const config: EmbeddedConfig = {};
  if (raw.ENV !== undefined) config.ENV = stringArray(raw.ENV, 'config.ENV');
  if (raw.ENTRYPOINT !== undefined) config.ENTRYPOINT = stringArray(raw.ENTRYPOINT, 'config.ENTRYPOINT');
  if (raw.WORKDIR !== undefined) {
    if (typeof raw.WORKDIR !== 'string') throw invalidManifest(`config.WORKDIR must be a string, got ${show(raw.WORKDIR)}`);
    config.WORKDIR = raw.WORKDIR;
  }
  return config;
}

function validateLayer(value: unknown, index: number): EmbeddedLayer {
  const at = `layers[${index}]`;
  const raw = asObject(value, at);
  rejectUnknownKeys(raw, LAYER_KEYS, `${at}.`);
  const size = raw.size ?? 0;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
    throw invalidManifest(`${at}.size must be a non-negative integer, got ${show(size)}`);
  }
  const mediaType = raw.mediaType;
  if (mediaType !== LAYER_SQUASHFS && mediaType !== LAYER_DIR) {
    throw invalidManifest(`${at}.mediaType must be "${LAYER_SQUASHFS}" or "${LAYER_DIR}", got ${show(mediaType)}`);
  }
  const pathInHost = optionalString(raw.pathInHost, `${at}.pathInHost`);
  const digest = optionalString(raw.digest, `${at}.digest`);
  const pathInContainer = optionalString(raw.pathInContainer, `${at}.pathInContainer`);

  if (index === 0) {
    // Layer 0 is the rootfs: a block device given by absolute path, or the host's own '/'.
    if (!pathInHost.startsWith('/')) throw invalidManifest(`${at}.pathInHost ${show(pathInHost)} must be an absolute path`);
    if (mediaType === LAYER_DIR && pathInHost !== '/') {
      throw invalidManifest(`${at}.pathInHost must be "/" for ${LAYER_DIR}, got ${show(pathInHost)}`);
    }
    if (digest !== '') throw invalidManifest(`${at}.digest must be empty, got ${show(digest)}`);
    if (pathInContainer !== '') throw invalidManifest(`${at}.pathInContainer must be empty, got ${show(pathInContainer)}`);
  } else {
    // Later layers are files or directories next to the manifest, mounted at pathInContainer.
    if (pathInHost === '' || pathInHost.startsWith('/')) {
      throw invalidManifest(`${at}.pathInHost ${show(pathInHost)} must be a relative path`);
    }
    if (digest !== '' && mediaType === LAYER_DIR) {
      throw invalidManifest(`${at}.digest must be empty for ${LAYER_DIR}, got ${show(digest)}`);
    }
    if (digest !== '' && !DIGEST.test(digest)) {
      throw invalidManifest(`${at}.digest ${show(digest)} is not sha256:<64 lowercase hex>`);
    }
    if (!pathInContainer.startsWith('/')) {
      throw invalidManifest(`${at}.pathInContainer ${show(pathInContainer)} must be an absolute path`);
    }
  }
  return { mediaType, size, digest, pathInHost, pathInContainer };
}

function asObject(value: unknown, what: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidManifest(`${what} must be a JSON object`);
  }
  return value as JsonObject;
}

/** iSulad's parser ignores unknown keys; we refuse them so a misspelt field is not silently dropped. */
function rejectUnknownKeys(obj: JsonObject, known: readonly string[], prefix: string): void {
  const unknown = Object.keys(obj).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw invalidManifest(`unknown key ${unknown.map((k) => show(prefix + k)).join(', ')}`);
}

function optionalString(value: unknown, what: string): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') throw invalidManifest(`${what} must be a string, got ${show(value)}`);
  return value;
}

function stringArray(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw invalidManifest(`${what} must be an array of strings`);
  }
  return value;
}

/** A JSON value quoted for a one-line message, cut short so a huge field cannot flood it. */
function show(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}
