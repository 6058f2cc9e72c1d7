/**
 * Docker image references (distribution's reference grammar, docker/distribution
 * reference/regexp.go), parsed into `ImageRef` and formatted back:
 *
 *   busybox                       → docker.io/library/busybox:latest
 *   127.0.0.1:5000/app@sha256:…   → registry 127.0.0.1:5000, repository app, the digest
 *
 * The first path component is a registry when it has a `.` or a `:`, is `localhost`, or has
 * upper-case letters (which a repository cannot); otherwise the name is on the default
 * registry (docker.io, or daemon_constants.json's `default-host`), where a one-component
 * name gets `library/`. `index.docker.io` is docker.io.
 */
import { invalidArgs } from '../../api/errors.js';
import type { ImageRef } from './types.js';

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';
/** distribution's NameTotalLengthMax: registry and repository together. */
export const NAME_MAX = 255;

const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const PORT = /^[0-9]{1,5}$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
/** Only sha256 is accepted: the only algorithm registries and the store use. */
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** A `sha256:<64 hex>` digest, the only form the engine keeps. */
export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}

const bad = (input: string, why: string): Error =>
  invalidArgs(`invalid reference format: ${why}: ${JSON.stringify(input.length > 300 ? `${input.slice(0, 300)}…` : input)}`);

function isDomain(s: string): boolean {
  let host = s;
  const colon = s.lastIndexOf(':');
  if (colon >= 0) {
    const port = s.slice(colon + 1);
    if (!PORT.test(port) || Number(port) > 65535) return false;
    host = s.slice(0, colon);
  }
  return host.split('.').every((c) => DOMAIN_COMPONENT.test(c));
}

/**
 * Parses and normalizes an image reference; throws an InvalidArgument error naming the rule
 * it breaks. Without a tag or digest the tag is `latest`.
 */
export function parseReference(input: string, defaultRegistry = DEFAULT_REGISTRY): ImageRef {
  if (input.length === 0) throw bad(input, 'empty name');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(input, /^[a-z0-9]+:/.test(digest) && !digest.startsWith('sha256:') ? 'unsupported digest algorithm' : 'invalid digest');
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(input, 'invalid tag');
  }
  if (rest.length === 0) throw bad(input, 'empty name');
  let registry = defaultRegistry;
  let repository = rest;
  const first = rest.indexOf('/');
  if (first >= 0) {
    const head = rest.slice(0, first);
    if (head.includes('.') || head.includes(':') || head === 'localhost' || head.toLowerCase() !== head) {
      if (!isDomain(head)) throw bad(input, 'invalid registry host');
      registry = head === 'index.docker.io' ? DEFAULT_REGISTRY : head;
      repository = rest.slice(first + 1);
    }
  }
  if (repository.toLowerCase() !== repository) throw bad(input, 'repository name must be lowercase');
  const parts = repository.split('/');
  if (!parts.every((p) => PATH_COMPONENT.test(p))) throw bad(input, 'invalid repository name');
  if (registry === DEFAULT_REGISTRY && parts.length === 1) repository = `library/${repository}`;
  if (registry.length + 1 + repository.length > NAME_MAX) throw bad(input, `repository name longer than ${NAME_MAX} characters`);
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  const ref: ImageRef = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** `registry/repository`. */
export function fullName(ref: Pick<ImageRef, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`;
}

/** `registry/repository[:tag][@digest]`, the canonical form. */
export function formatReference(ref: ImageRef): string {
  return `${fullName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The short name users type and `isula images` shows: docker.io/ and library/ dropped. */
export function familiarName(ref: Pick<ImageRef, 'registry' | 'repository'>): string {
  if (ref.registry !== DEFAULT_REGISTRY) return fullName(ref);
  return ref.repository.startsWith('library/') && ref.repository.indexOf('/', 8) < 0 ? ref.repository.slice(8) : ref.repository;
}

/** familiarName with `:tag` and/or `@digest`. */
export function familiarReference(ref: ImageRef): string {
  return `${familiarName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}
