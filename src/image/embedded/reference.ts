/**
 * Image references as iSulad's embedded loader accepts them (util_valid_embedded_image_name in
 * src/utils/cutils/utils_verify.c): `name:tag`, the tag is mandatory, the name follows Docker's
 * reference grammar. Checked piecewise rather than with iSulad's single regex, whose nested
 * quantifiers backtrack exponentially in JavaScript.
 */

/** MAX_IMAGE_NAME_LEN: the whole reference, name and tag together. */
export const MAX_IMAGE_NAME_LENGTH = 255;

const TAG = /^[A-Za-z_0-9][A-Za-z_0-9.-]{0,127}$/;
// A separator is `.`, `_`, `__` or any run of dashes; iSulad's `[-]*` also allows an empty one,
// which only splits a run of [a-z0-9] and so accepts nothing more.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST_LABEL = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const HOST = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*(?::[0-9]+)?$`);

/** Names the two reserved references iSulad refuses to load ("none" stands for untagged images). */
export function isReservedImageName(ref: string): boolean {
  return ref === 'none' || ref === 'none:latest';
}

/** Splits a `name:tag` reference, or returns undefined when it is not a valid tagged reference. */
export function parseImageReference(ref: string): { name: string; tag: string } | undefined {
  if (ref.length > MAX_IMAGE_NAME_LENGTH) return undefined;
  // The tag follows the last ':' unless a '/' comes after it (then that ':' was a registry port).
  const colon = ref.lastIndexOf(':');
  if (colon < 0 || ref.includes('/', colon)) return undefined;
  const name = ref.slice(0, colon);
  const tag = ref.slice(colon + 1);
  if (!TAG.test(tag) || !isValidRepositoryName(name)) return undefined;
  return { name, tag };
}

/** Docker's repository name: an optional registry host[:port], then lowercase path components. */
function isValidRepositoryName(name: string): boolean {
  const parts = name.split('/');
  return parts.every((part, i) => COMPONENT.test(part) || (i === 0 && parts.length > 1 && HOST.test(part)));
}
