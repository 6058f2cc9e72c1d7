import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cli, eventually, show, sleepMs } from '../helpers/cli.js';
import { TestEngine } from '../helpers/engine.js';
import { isulaOnTerminal } from '../helpers/pty.js';
import { busyboxRootfs } from '../helpers/rootfs.js';

/**
 * The client and containers as a Docker or iSulad user expects them: loopback up, long
 * option aliases, 126/127 for commands that cannot start, one-line errors instead of LXC's
 * log lines, inspect templates, and terminals.
 */

/** No LXC log shape in what a user reads: `lxc-start ... ERROR`, `file.c:func:line`, LXC's rootfs mount point. */
function assertNoLxcLines(text: string): void {
  assert.doesNotMatch(text, /lxc-(start|attach)|\.c:\w+:\d+|\.c: \w+: \d+|\/lxc\/rootfs/, text);
}

describe('client behaviour', () => {
  let cli: Cli;
  before(async () => {
    cli = new Cli(await TestEngine.start(), busyboxRootfs());
  });
  after(() => cli.engine.cleanup());

  for (const net of [[], ['--net', 'none']]) {
    it(`a container with its own network namespace has lo up (${net.join(' ') || 'default'})`, async () => {
      const out = await cli.inside(net, 'ip link show lo; ping -c 1 -W 2 127.0.0.1 >/dev/null && echo pinged');
      assert.match(out, /^1: lo: <[A-Z_,]*\bUP\b/m, out);
      assert.match(out, /^pinged$/m, out);
    });
  }

  it('a service in a container can talk to itself over 127.0.0.1', async () => {
    // busybox nc shuts its sending side at its stdin's end, and a client that reads that end
    // before `echo` has written exits having sent nothing: the listener's stdin, a FIFO the
    // shell holds open, never ends.
    const out = await cli.inside(
      [],
      'mkfifo /tmp/in; exec 3<>/tmp/in; nc -l -p 7777 <&3 > /tmp/got & for i in $(seq 50); do echo hello | nc 127.0.0.1 7777 2>/dev/null && break; sleep 0.1; done; wait $!; cat /tmp/got',
    );
    assert.equal(out, 'hello\n');
  });

  it('--network is the long alias of --net, in both forms', async () => {
    // The host's interfaces are seen only in the host's network namespace.
    const count = async (flags: string[]): Promise<number> => Number(await cli.inside(flags, 'grep -c : /proc/net/dev'));
    assert.ok((await count(['--network', 'host'])) > 1);
    assert.equal(await count(['--network=none']), 1);
    const r = await cli.withRootfs('run', ['--rm', '--network', 'bridge0'], ['true']);
    assert.equal(r.code, 125, show(r));
    assert.match(r.stderr, /network "bridge0" is not supported/);
  });

  const startFailures: { what: string; flags: string[]; cmd: string[]; code: number; message: RegExp }[] = [
    { what: 'a command not found', flags: [], cmd: ['nosuch'], code: 127, message: /exec: "nosuch": executable file not found in \$PATH/ },
    { what: 'a path that does not exist', flags: [], cmd: ['/bin/nosuch'], code: 127, message: /exec: "\/bin\/nosuch": no such file or directory/ },
    { what: 'a file that is not executable', flags: [], cmd: ['/etc/hostname'], code: 126, message: /exec: "\/etc\/hostname": permission denied/ },
    { what: 'a directory', flags: [], cmd: ['/etc'], code: 126, message: /exec: "\/etc": permission denied/ },
    {
      what: 'a missing working directory',
      flags: ['-w', '/nonexist'],
      cmd: ['ls'],
      code: 127,
      message: /chdir to working directory "\/nonexist" failed: no such file or directory/,
    },
    {
      what: 'a mount on a path it cannot take',
      flags: ['--mount', 'type=bind,src=/etc/hostname,dst=/bin'],
      cmd: ['ls'],
      code: 127,
      message: /error mounting "\/etc\/hostname" to rootfs at "\/bin": not a directory/,
    },
  ];
  for (const f of startFailures) {
    it(`run of ${f.what} exits ${f.code} with one clear line`, async () => {
      const r = await cli.withRootfs('run', ['--rm', ...f.flags], f.cmd);
      assert.equal(r.code, f.code, show(r));
      assert.match(r.stderr, /^Error response from daemon: Start container error: /);
      assert.match(r.stderr, f.message);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assertNoLxcLines(r.stderr);
    });
  }

  it('start -a exits 127 for a command not found; start without -a exits 1, as iSulad', async () => {
    await cli.create(['--name', 'notfound'], ['nosuch']);
    const plain = await cli.isula(['start', 'notfound']);
    assert.equal(plain.code, 1, show(plain));
    assert.match(plain.stderr, /executable file not found in \$PATH/);
    const attached = await cli.isula(['start', '-a', 'notfound']);
    assert.equal(attached.code, 127, show(attached));
    await cli.ok(['rm', 'notfound']);
  });

  it("inspect -f with a key the container lacks exits 1 with Go's message and prints nothing", async () => {
    await cli.create(['--name', 'insp'], ['true']);
    for (const [format, key, col] of [
      ['{{.Foo}}', 'Foo', 2],
      ['{{.State.Nope}}', 'Nope', 8],
      ['{{json .Config.Nope}}', 'Nope', 14],
    ] as const) {
      const r = await cli.isula(['inspect', '-f', format, 'insp']);
      assert.equal(r.code, 1, show(r));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`^template: :1:${col}: executing "" at <[^>]+>: map has no entry for key "${key}"\n$`), show(r));
    }
    assert.equal(await cli.ok(['inspect', '-f', '{{.State.Status}} {{.Config.Hostname | len | printf "%d"}}', 'insp']), 'inited 12\n');
    await cli.ok(['rm', 'insp']);
  });

  it("run -it gives the shell a controlling terminal: job control, Ctrl-C to the foreground job, the client's TERM", async () => {
    const rootfs = ['--external-rootfs', cli.rootfs, 'none'];
    const term = isulaOnTerminal(cli.engine, ['run', '-it', '--rm', '--name', 'tty1', ...rootfs, 'sh'], { rows: 33, cols: 111 }, 'vt220');
    try {
      await term.waitFor(/# /);
      term.write('tty; echo "T=$TERM"; stty size; echo "ctty $(cut -d" " -f7 /proc/1/stat)"\n');
      await term.waitFor(/\nctty \d+/);
      assert.match(term.stdout, /\n\/dev\/(pts\/\d+|console)\r/);
      assert.match(term.stdout, /\nT=vt220\r/);
      assert.match(term.stdout, /\n33 111\r/);
      assert.doesNotMatch(term.stdout, /\nctty 0\r/, 'pid 1 has a controlling terminal');
      assert.doesNotMatch(term.stdout, /job control turned off/);
      term.write('echo started; sleep 100\n');
      await term.waitFor(/\nstarted\r/);
      await sleepMs(300);
      term.write('\x03');
      await term.waitFor(/\^C/);
      term.write('echo "after $?"\n');
      await term.waitFor(/\nafter 130\r/);
      term.write('exit 5\n');
      assert.equal(await term.exit(), 5, term.stdout);
    } finally {
      term.kill();
    }
  });

  it("run -t with the client's TERM unset gives TERM=xterm; -e TERM wins", async () => {
    const rootfs = ['--external-rootfs', cli.rootfs, 'none'];
    for (const [flags, want] of [
      [[], 'xterm'],
      [['-e', 'TERM=dumb'], 'dumb'],
    ] as const) {
      const term = isulaOnTerminal(cli.engine, ['run', '-t', '--rm', ...flags, ...rootfs, 'sh', '-c', 'echo "T=$TERM"'], { rows: 24, cols: 80 }, undefined);
      try {
        assert.equal(await term.exit(), 0, term.stdout);
        assert.match(term.stdout, new RegExp(`T=${want}\\r`));
      } finally {
        term.kill();
      }
    }
  });

  it("attach gives a container's terminal the client's size", async () => {
    await cli.runDetached(['-it', '--name', 'att'], ['sh']);
    const term = isulaOnTerminal(cli.engine, ['attach', 'att'], { rows: 41, cols: 97 }, 'xterm');
    try {
      // The size is applied beside the input: ask until the answer comes (a client that never sends it times out).
      await eventually('the container terminal to be 41x97', async () => {
        term.write('stty size\n');
        await sleepMs(300);
        return /\n41 97\r/.test(term.stdout) ? true : undefined;
      });
      term.write('exit 3\n');
      assert.equal(await term.exit(), 3, term.stdout);
    } finally {
      term.kill();
    }
    await cli.ok(['rm', '-f', 'att']);
  });

  it('exec errors are one line without lxc-attach output, with 126/127', async () => {
    await cli.runDetached(['--name', 'ex'], ['sleep', '1000']);
    const cases: [string[], number, RegExp][] = [
      [['ex', 'nosuch'], 127, /^exec failed: exec: "nosuch": executable file not found in \$PATH\n$/],
      [['ex', '/etc/hostname'], 126, /^exec failed: exec: "\/etc\/hostname": permission denied\n$/],
      [['-w', '/nonexist', 'ex', 'ls'], 127, /^exec failed: chdir to working directory "\/nonexist" failed: no such file or directory\n$/],
    ];
    for (const [args, code, message] of cases) {
      const r = await cli.isula(['exec', ...args]);
      assert.equal(r.code, code, `${args.join(' ')}: ${show(r)}`);
      assert.match(r.stderr, message, show(r));
      assertNoLxcLines(r.stderr);
    }
    assert.equal(await cli.ok(['exec', '-w', '/etc', 'ex', 'pwd']), '/etc\n');
    await cli.ok(['rm', '-f', 'ex']);
  });
});
