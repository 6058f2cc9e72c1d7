import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { Cli, show } from '../helpers/cli.js';
import { TestEngine } from '../helpers/engine.js';
import { busyboxRootfs } from '../helpers/rootfs.js';

/**
 * Resource values the kernel refuses when the cgroups are written are refused at create with
 * a one-line error, and leave no container behind (before, create succeeded and every start
 * failed).
 */
describe('resource values that could never start are refused at create', () => {
  let engine: TestEngine;
  let cli: Cli;
  const cpus = os.cpus().length;

  before(async () => {
    engine = await TestEngine.start();
    cli = new Cli(engine, busyboxRootfs());
  });
  after(async () => {
    await engine.cleanup();
  });

  const cases: [string[], RegExp][] = [
    [['--cpus', '0.0001'], new RegExp(`^Error.*Range of CPUs is from 0\\.01 to ${cpus}\\.00, as there are only ${cpus} CPUs available$`, 'm')],
    [['--cpu-shares', '-1'], /Invalid value -1 for cpu-shares/],
    [['--cpu-shares', '1.5'], /Invalid value "1\.5" for flag --cpu-shares/],
    [['--pids-limit', '100000000000000000000'], /Invalid value "100000000000000000000" for flag --pids-limit/],
    [['--pids-limit', '100000000'], /Invalid value 100000000 for pids-limit: the kernel allows at most 4194304/],
    [['--cpu-period', '10'], /CPU cfs period can not be less than 1ms/],
    [['--cpu-quota', '10'], /CPU cfs quota can not be less than 1ms/],
  ];
  for (const [flags, message] of cases) {
    it(`create ${flags.join(' ')} is refused and leaves nothing`, async () => {
      const r = await cli.withRootfs('create', ['--name', 'bad', ...flags], ['true']);
      assert.notEqual(r.code, 0, show(r));
      assert.match(r.stderr, message, show(r));
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${show(r)}`);
      assert.deepEqual(await cli.names(), []);
    });
  }

  it('update refuses them too, and the container still starts', async () => {
    await cli.ok(['create', '--name', 'good', '--cpu-shares', '512', '--pids-limit', '100', '--external-rootfs', cli.rootfs, 'none', 'sleep', '100']);
    const r = await cli.isula(['update', '--cpu-shares', '-1', 'good']);
    assert.notEqual(r.code, 0, show(r));
    assert.match(r.stderr, /Invalid value -1 for cpu-shares/);
    await cli.ok(['start', 'good']);
    assert.match(await cli.status('good'), /^running /);
  });
});
