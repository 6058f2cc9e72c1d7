import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgs, type OptionTable } from '../../src/cli/args.js';
import { EngineError } from '../../src/api/errors.js';

const table: OptionTable = {
  name: { alias: 'n', type: 'string', describe: '' },
  env: { alias: 'e', type: 'string', list: true, describe: '' },
  detach: { alias: 'd', type: 'boolean', describe: '' },
  interactive: { alias: 'i', type: 'boolean', describe: '' },
  tty: { alias: 't', type: 'boolean', describe: '' },
  time: { type: 'number', default: 10, describe: '' },
  'memory-swap': { type: 'string', describe: '' },
  net: { alias: 'network', type: 'string', describe: '' },
};

describe('parseArgs (pflag syntax)', () => {
  it('long, short, = forms, repeated list flags and grouped booleans', () => {
    const a = parseArgs(['--name=x', '-e', 'A=1', '-eB=2', '--env', 'C=3', '-dit', 'img', 'sh'], table, true);
    assert.equal(a.name, 'x');
    assert.deepEqual(a.env, ['A=1', 'B=2', 'C=3']);
    assert.equal(a.detach, true);
    assert.equal(a.interactive, true);
    assert.equal(a.tty, true);
    assert.deepEqual(a._, ['img', 'sh']);
  });

  it('stops at the first positional when told: the rest belongs to the container', () => {
    const a = parseArgs(['img', 'sh', '-c', 'echo --name'], table, true);
    assert.deepEqual(a._, ['img', 'sh', '-c', 'echo --name']);
    assert.equal(a.name, undefined);
  });

  it('takes a value that starts with a dash, as pflag does', () => {
    assert.equal(parseArgs(['--memory-swap', '-1'], table, false)['memory-swap'], '-1');
  });

  it('scalar flags: the last one wins; defaults fill in', () => {
    const a = parseArgs(['-n', 'a', '-n', 'b'], table, false);
    assert.equal(a.name, 'b');
    assert.equal(a.time, 10);
  });

  it('-- ends the flags', () => {
    assert.deepEqual(parseArgs(['--', '-d'], table, false)._, ['-d']);
  });

  it('a long alias is a second long name for the same flag', () => {
    assert.equal(parseArgs(['--network', 'host'], table, false).net, 'host');
    assert.equal(parseArgs(['--network=none'], table, false).net, 'none');
    assert.equal(parseArgs(['--net', 'host', '--network', 'none'], table, false).net, 'none');
  });

  const bad: [string[], RegExp][] = [
    [['--network'], /flag needs an argument: --network$/],
    [['--n', 'x'], /unknown flag: --n$/],
    [['--bogus'], /unknown flag: --bogus/],
    [['-x'], /unknown shorthand flag: 'x'/],
    [['--name'], /flag needs an argument: --name/],
    [['--time', 'soon'], /invalid argument "soon" for "--time" flag/],
    [['--detach=maybe'], /want true or false/],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${argv.join(' ')}`, () => {
      assert.throws(
        () => parseArgs(argv, table, false),
        (e: unknown) => e instanceof EngineError && e.exitCode === 125 && message.test(e.message),
      );
    });
  }
});
