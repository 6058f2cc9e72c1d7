// The issue-15 part of the report (bench/report.mjs): the Node and the Bun executables side
// by side — executable size and daemon start time, the client round trip, the soak, the
// aarch64 executables under qemu-user — and issue 15's decision rule on what this run measured.
// Reads the JSON files bench/compare.sh leaves in its results directory: soak.json
// (bench/soak.mjs), roundtrip.json (bench/client-roundtrip.mjs), aarch64.json (bench/aarch64.mjs).
import fs from 'node:fs';
import path from 'node:path';
import { median } from './daemon.mjs';

const read = (dir, name) => {
  const f = path.join(dir, name);
  return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : undefined;
};
const mb = (kb) => (kb === undefined ? '–' : (kb / 1024).toFixed(1));
const ms = (x) => (x === undefined ? '–' : x.toFixed(x >= 10 ? 0 : 1));
const ratio = (a, b) => (a === undefined || !b ? '–' : (a / b).toFixed(2));
const mem = (m) => (m ? `${mb(m.vmRssKb)} (${mb(m.rssAnonKb)})` : '–');
const RUNTIMES = [
  ['node', 'Node SEA', ['isula', 'isula-api']],
  ['bun', 'Bun', ['isula-bun']],
];

/**
 * Markdown lines for the results in DIR; byEngine: the lifecycle results per engine (their
 * daemonStartMs and executableBytes). Empty when neither build was measured.
 */
export function bunSection(dir, byEngine) {
  const soak = read(dir, 'soak.json');
  const trip = read(dir, 'roundtrip.json');
  const a64 = read(dir, 'aarch64.json');
  const of = (data, runtime) => data?.results.find((r) => r.runtime === runtime);
  const builds = RUNTIMES.filter(([rt, , engines]) => engines.some((e) => byEngine[e]) || of(soak, rt) || of(trip, rt));
  if (!builds.length) return [];
  const md = [];
  md.push('#### Node and Bun executables (issue 15)');
  md.push('');
  // Every daemon start of the run, each with its executable evicted from the page cache first.
  const starts = (rt, engines) =>
    [...engines.flatMap((e) => (byEngine[e] ?? []).map((r) => r.daemonStartMs)), of(soak, rt)?.startMs, of(trip, rt)?.startMs].filter((x) => x !== undefined);
  const size = (rt, engines) => of(soak, rt)?.executableBytes ?? engines.flatMap((e) => byEngine[e] ?? []).find((r) => r.executableBytes)?.executableBytes;
  md.push('| build | executable (x86_64) | daemon start to socket: median (min–max, starts) | `isula version` round trip | ÷ `node -e 0` |');
  md.push('|---|---|---|---|---|');
  const facts = {};
  for (const [rt, label, engines] of builds) {
    const s = starts(rt, engines);
    const bytes = size(rt, engines);
    facts[rt] = { start: s.length ? median(s) : undefined, bytes, trip: of(trip, rt) };
    md.push(
      `| ${label} | ${bytes ? `${(bytes / 1e6).toFixed(1)} MB` : '–'} | ${s.length ? `${ms(median(s))} ms (${ms(Math.min(...s))}–${ms(Math.max(...s))}, ${s.length})` : '–'} | ${ms(of(trip, rt)?.versionMedianMs)} ms | ${of(trip, rt)?.overNodeE0?.toFixed(2) ?? '–'} |`,
    );
  }
  if (facts.node && facts.bun)
    md.push(
      `| Bun ÷ Node | ${ratio(facts.bun.bytes, facts.node.bytes)} | ${ratio(facts.bun.start, facts.node.start)} | ${trip?.bunOverNode?.toFixed(2) ?? '–'} (median of paired ratios) | |`,
    );
  md.push('');
  md.push(
    `Daemon start: spawn to its socket appearing (polled every 2 ms), the executable evicted from the page cache before every start (a cold start, as after a boot): the lifecycle rounds, the soak and the round trip each start one. Round trip: \`bench/client-roundtrip.mjs ${trip?.runs ?? ''}\`, each client against its own idle daemon, alternating with \`node -e 0\` (${ms(trip?.nodeE0Ms)} ms).`,
  );
  md.push('');
  if (soak) {
    md.push(`#### Soak: ${soak.cycles} × \`isula run --rm\` per build (MB: VmRSS, RssAnon in brackets)`);
    md.push('');
    md.push(
      '| build | daemon idle (1 s after start) | after the soak (2 s after the last cycle) | growth | along the way | failed cycles | cycle median / p95 | daemon CPU per cycle |',
    );
    md.push('|---|---|---|---|---|---|---|---|');
    for (const [rt, label] of builds) {
      const r = of(soak, rt);
      if (!r) continue;
      md.push(
        `| ${label} | ${mem(r.idle)} | ${mem(r.after)} | +${mb(r.after.vmRssKb - r.idle.vmRssKb)} (+${mb(r.after.rssAnonKb - r.idle.rssAnonKb)}) | ${r.samples.map((s) => `${s.cycle}: ${mb(s.vmRssKb)}`).join(', ')} | ${r.failures}${r.firstError ? ` (${r.firstError.replace(/\|/g, '\\|')})` : ''} | ${ms(r.cycleMedianMs)} / ${ms(r.cycleP95Ms)} ms | ${ms(r.daemonCpuMsPerCycle)} ms |`,
      );
    }
    const n = of(soak, 'node');
    const b = of(soak, 'bun');
    if (n && b)
      md.push(
        `| Bun ÷ Node | ${ratio(b.idle.vmRssKb, n.idle.vmRssKb)} (${ratio(b.idle.rssAnonKb, n.idle.rssAnonKb)}) | ${ratio(b.after.vmRssKb, n.after.vmRssKb)} (${ratio(b.after.rssAnonKb, n.after.rssAnonKb)}) | | | | ${ratio(b.cycleMedianMs, n.cycleMedianMs)} | ${ratio(b.daemonCpuMsPerCycle, n.daemonCpuMsPerCycle)} |`,
      );
    md.push('');
    md.push(
      'The two daemons run at the same time and the cycles alternate between them (one busybox container, `true`, `--net none`, external root filesystem); each daemon was started with its executable evicted from the page cache. RssAnon is the private part; the rest of VmRSS is the executable and libraries as paged in.',
    );
    md.push('');
  }
  if (a64) {
    md.push(`#### aarch64 executables under qemu-user (${a64.qemu}; ${a64.runs} calls each, alternating, medians)`);
    md.push('');
    md.push('| build | executable | `isula --version` | `isula version` round trip | daemon start to socket | daemon RSS after the calls (RssAnon) |');
    md.push('|---|---|---|---|---|---|');
    for (const [rt, label] of RUNTIMES) {
      const r = of(a64, rt);
      if (r)
        md.push(
          `| ${label} aarch64 | ${(r.executableBytes / 1e6).toFixed(1)} MB | ${ms(r.versionOnlyMedianMs)} ms | ${ms(r.versionMedianMs)} ms | ${ms(r.startMs)} ms | ${mem(r.idle)} |`,
        );
    }
    const n = of(a64, 'node');
    const b = of(a64, 'bun');
    if (n && b)
      md.push(
        `| Bun ÷ Node | ${ratio(b.executableBytes, n.executableBytes)} | ${ratio(b.versionOnlyMedianMs, n.versionOnlyMedianMs)} | ${ratio(b.versionMedianMs, n.versionMedianMs)} | ${ratio(b.startMs, n.startMs)} | ${ratio(b.idle.vmRssKb, n.idle.vmRssKb)} (${ratio(b.idle.rssAnonKb, n.idle.rssAnonKb)}) |`,
      );
    md.push('');
    md.push(
      "`qemu-aarch64-static` with Debian's arm64 glibc as sysroot (`build/arm64-sysroot.sh`), as `build/check-aarch64.sh` runs the executables; the RSS is the emulator process's, its own memory and translated code included: it compares the two builds, not a native aarch64 daemon. Times are of emulated code on this host's CPU, not of an aarch64 board.",
    );
    md.push('');
  }
  // Issue 15's rule, on the parts this run measures (the test suites are not measured here).
  const n = of(soak, 'node');
  const b = of(soak, 'bun');
  const idleNode = median((byEngine.isula ?? []).map((r) => r.memory.daemonIdleKb));
  const idleBun = median((byEngine['isula-bun'] ?? []).map((r) => r.memory.daemonIdleKb));
  const rule = [];
  if (trip?.bunOverNode !== undefined) rule.push(['client round trip ≤ 0.4 × Node', `${trip.bunOverNode.toFixed(2)}×`, trip.bunOverNode <= 0.4]);
  if (byEngine.isula && byEngine['isula-bun'])
    rule.push(['daemon idle RSS (lifecycle rounds, after the warm-up) no worse than Node', `${mb(idleBun)} vs ${mb(idleNode)} MB`, idleBun <= idleNode]);
  if (n && b) {
    rule.push([
      'daemon idle RSS (soak, before any container) no worse than Node',
      `${mb(b.idle.vmRssKb)} vs ${mb(n.idle.vmRssKb)} MB`,
      b.idle.vmRssKb <= n.idle.vmRssKb,
    ]);
    rule.push([
      `daemon RSS after the ${soak.cycles}-cycle soak no worse than Node`,
      `${mb(b.after.vmRssKb)} vs ${mb(n.after.vmRssKb)} MB`,
      b.after.vmRssKb <= n.after.vmRssKb,
    ]);
    rule.push(['no failed soak cycle', `Node ${n.failures}, Bun ${b.failures}`, n.failures === 0 && b.failures === 0]);
  }
  if (rule.length) {
    md.push("#### Issue 15's rule on this run's numbers");
    md.push('');
    md.push('| condition | measured | |');
    md.push('|---|---|---|');
    for (const [name, measured, ok] of rule) md.push(`| ${name} | ${measured} | ${ok ? 'met' : '**missed**'} |`);
    md.push('');
    md.push(
      'The rest of the rule (every test on both architectures, no reliability regression, kernel floor and size in the README) is not measured here: see docs/design.md.',
    );
    md.push('');
  }
  return md;
}
