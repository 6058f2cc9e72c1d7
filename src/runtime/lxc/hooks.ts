import type { OciHook, OciHooks } from '../../api/containers.js';
import { shellQuote } from '../../sys/shell.js';

function hookLine(h: OciHook): string {
  const argv = [h.path, ...(h.args ?? []).slice(1)].map(shellQuote).join(' ');
  const env = h.env && h.env.length > 0 ? `env -i ${h.env.map(shellQuote).join(' ')} ` : '';
  const timeout = h.timeout ? `timeout ${h.timeout} ` : '';
  return `  state "$status" | ${timeout}${env}${argv} || exit 1`;
}

/**
 * A shell script that runs a container's OCI hooks of one stage, each fed the container's
 * state JSON on stdin as the runtime spec asks: `sh hooks STAGE` (LXC calls it for prestart
 * and poststop; the daemon for poststart). LXC appends its own arguments, which are ignored.
 */
export function renderHookScript(id: string, bundle: string, hooks: OciHooks): string {
  const stage = (name: keyof OciHooks, status: string): string[] => [`${name})`, `  status=${status}`, ...(hooks[name] ?? []).map(hookLine), '  ;;'];
  return [
    '#!/bin/sh',
    `state() { printf '{"ociVersion":"1.0.2","id":"%s","status":"%s","pid":%s,"bundle":"%s"}' ${shellQuote(id)} "$1" "\${LXC_PID:-0}" ${shellQuote(bundle)}; }`,
    'case "$1" in',
    ...stage('prestart', 'created'),
    ...stage('poststart', 'running'),
    ...stage('poststop', 'stopped'),
    'esac',
    '',
  ].join('\n');
}
