import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineError, ExitCode } from '../../src/api/errors.js';
import { compileTemplate } from '../../src/cli/format/template/index.js';

// Shaped like `isula inspect` output for a stopped nginx container.
const container = {
  Id: 'f3c1d6a7b8e9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5',
  Created: '2024-05-01T10:00:00.000000000Z',
  Path: 'nginx',
  Args: ['-g', 'daemon off;'],
  State: {
    Status: 'exited',
    Running: false,
    Paused: false,
    Pid: 0,
    ExitCode: 143,
    Error: '',
    Health: null,
  },
  Image: 'sha256:7383c266ef252ad70806f3072ee8e63d2a16d1e6bafa6146a2da867fc7c41759',
  Name: '/web',
  RestartCount: 0,
  HostConfig: {
    Memory: 1073741824,
    NanoCpus: 1500000000,
    Binds: ['/data:/data:rw'],
    RestartPolicy: { Name: 'always', MaximumRetryCount: 0 },
  },
  Config: {
    Hostname: 'f3c1d6a7b8e9',
    User: '',
    Env: ['PATH=/usr/local/sbin:/usr/bin', 'NGINX_VERSION=1.25.4'],
    Cmd: ['nginx', '-g', 'daemon off;'],
    Entrypoint: null,
    Labels: { foo: 'bar', 'a.b': 'dotted', 'com.example.tier': 'web' },
    Tty: false,
  },
  NetworkSettings: { IPAddress: '172.17.0.2', Ports: {} },
  Mounts: [{ Type: 'bind', Source: '/data', Destination: '/data', RW: true }],
};

const running = { ...container, State: { ...container.State, Status: 'running', Running: true, Pid: 4242, ExitCode: 0 } };

const run = (text: string, data: unknown = container): string => compileTemplate(text)(data);

/** Asserts compile or execution fails with an invalid-arguments EngineError whose message matches. */
function fails(text: string, message: string | RegExp, data: unknown = container): void {
  assert.throws(
    () => run(text, data),
    (err: unknown) => {
      assert.ok(err instanceof EngineError, `not an EngineError: ${String(err)}`);
      assert.equal(err.exitCode, ExitCode.invalidArgs);
      assert.ok(!err.message.includes('\n'), 'message must be one line');
      if (typeof message === 'string') assert.equal(err.message, message);
      else assert.match(err.message, message);
      return true;
    },
  );
}

describe('template: text and fields', () => {
  it('copies literal text', () => {
    assert.equal(run(''), '');
    assert.equal(run('no actions here\n'), 'no actions here\n');
  });
  it('follows field chains from the dot', () => {
    assert.equal(run('{{.State.Status}}'), 'exited');
    assert.equal(run('{{.State.Status}}', running), 'running');
    assert.equal(run('{{.State.Status}} {{.State.ExitCode}}'), 'exited 143');
    assert.equal(run('{{.Id}}'), container.Id);
    assert.equal(run('{{ .Name }}'), '/web');
  });
  it('reads map keys through fields', () => {
    assert.equal(run('{{.Config.Labels.foo}}'), 'bar');
    assert.equal(run('{{.HostConfig.RestartPolicy.Name}}'), 'always');
  });
  it('prints the dot itself', () => {
    assert.equal(run('{{.}}', 'plain'), 'plain');
    assert.equal(run('{{.}}', { b: 2, a: [1, 'x'] }), 'map[a:[1 x] b:2]');
  });
  it('prints <no value> for a missing key and <nil> for an explicit null', () => {
    assert.equal(run('{{.Nope}}'), '<no value>');
    assert.equal(run('{{.Config.Labels.nope}}'), '<no value>');
    assert.equal(run('{{.Nope.Deeper}}'), '<no value>');
    assert.equal(run('{{.Config.Entrypoint}}'), '<nil>');
  });
  it("with missingKeyIsError a missing key fails as Go's missingkey=error does; present keys, nulls and index do not", () => {
    const strict = (text: string): string => compileTemplate(text, { missingKeyIsError: true })(container);
    assert.throws(() => strict('{{.Nope}}'), { message: 'template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"' });
    assert.throws(() => strict('{{.State.Nope.Deeper}}'), { message: 'template: :1:8: executing "" at <.State.Nope.Deeper>: map has no entry for key "Nope"' });
    assert.throws(() => strict('{{json .Config.Labels.nope}}'), /map has no entry for key "nope"$/);
    assert.equal(strict('{{.State.Status}} {{.Config.Entrypoint}} {{index .Config.Labels "missing"}}'), 'exited <nil> <no value>');
  });
  it('fails to reach through a non-object, as Docker does', () => {
    fails('{{.State.Status.X}}', 'template: :1:8: executing "" at <.State.Status.X>: can\'t evaluate field X in type string');
    fails('{{.State.Health.Status}}', 'template: :1:8: executing "" at <.State.Health.Status>: nil pointer evaluating interface {}.Status');
    fails('{{.Args.First}}', /can't evaluate field First in type \[\]interface \{\}$/);
    fails('{{.State.ExitCode.Code}}', /can't evaluate field Code in type int$/);
    fails('{{.Config.Labels.foo.bar.baz}}', /at <\.Config\.Labels\.foo\.b\.\.\.>: can't evaluate field bar in type string$/);
  });
  it('locates execution errors by line and column', () => {
    // Columns count from 0; like Go, a chain is placed at its second field.
    fails('ID\n  {{.Name.X}}', /^template: :2:9: executing "" at <\.Name\.X>: /);
    fails('ID\n  {{upper .State.ExitCode}}', /^template: :2:16: executing "" at <\.State\.ExitCode>: /);
  });
});

describe('template: printing values like Go', () => {
  it('prints numbers without exponents for integers', () => {
    assert.equal(run('{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}'), '1073741824 1500000000');
    assert.equal(run('{{.}}', 1e21), '1000000000000000000000');
    assert.equal(run('{{.}}', -7), '-7');
    assert.equal(run('{{.}}', 0.5), '0.5');
    assert.equal(run('{{.}}', 1.5e-7), '1.5e-07');
    assert.equal(run('{{.}}', 1234567.5), '1.2345675e+06');
  });
  it('prints booleans', () => {
    assert.equal(run('{{.State.Running}} {{.Config.Tty}}', running), 'true false');
  });
  it('prints arrays as [a b c]', () => {
    assert.equal(run('{{.Config.Env}}'), '[PATH=/usr/local/sbin:/usr/bin NGINX_VERSION=1.25.4]');
    assert.equal(run('{{.}}', [[1, 2], [], null, 'x']), '[[1 2] [] <nil> x]');
  });
  it('prints objects as map[...] with sorted keys', () => {
    assert.equal(run('{{.Config.Labels}}'), 'map[a.b:dotted com.example.tier:web foo:bar]');
    assert.equal(run('{{.Mounts}}'), '[map[Destination:/data RW:true Source:/data Type:bind]]');
    assert.equal(run('{{.NetworkSettings.Ports}}'), 'map[]');
  });
});

describe('template: whitespace trimming and comments', () => {
  it('trims around {{- and -}}', () => {
    assert.equal(run('a  \n {{- .Name}}'), 'a/web');
    assert.equal(run('{{.Name -}} \n\t b'), '/webb');
    assert.equal(run('x\n{{- range .Args -}}\n  [{{.}}]\n{{- end}}\n'), 'x[-g][daemon off;]\n');
  });
  it('reads {{-3}} as a number, not a trim marker', () => {
    assert.equal(run('a {{-3}}'), 'a -3');
  });
  it('drops comments', () => {
    assert.equal(run('a{{/* note */}}b {{- /* trimmed */ -}} c'), 'abc');
  });
});

describe('template: functions', () => {
  it('json matches JSON.stringify', () => {
    assert.equal(run('{{json .Config}}'), JSON.stringify(container.Config));
    assert.equal(run('{{json .}}'), JSON.stringify(container));
    assert.equal(run('{{json .Name}} {{json .Nope}} {{json "<&>"}}'), '"/web" null "<&>"');
  });
  it('upper, lower, title', () => {
    assert.equal(run('{{upper .State.Status}} {{lower "ABC"}} {{title "hello world-wide web"}}'), 'EXITED abc Hello World-Wide Web');
  });
  it('split and join', () => {
    assert.equal(run('{{split .Name "/"}}'), '[ web]');
    assert.equal(run('{{index (split .Image ":") 0}}'), 'sha256');
    assert.equal(run('{{join .Args ","}}'), '-g,daemon off;');
    assert.equal(run('{{join .Config.Cmd " "}}'), 'nginx -g daemon off;');
  });
  it('len of arrays, objects and strings (bytes, as Go)', () => {
    assert.equal(run('{{len .Args}} {{len .Config.Labels}} {{len .Name}} {{len "é"}}'), '2 3 4 2');
  });
  it('index into maps and arrays', () => {
    assert.equal(run('{{index .Config.Labels "a.b"}}'), 'dotted');
    assert.equal(run('{{index .Config.Labels "com.example.tier"}}'), 'web');
    assert.equal(run('{{index .Args 0}}'), '-g');
    assert.equal(run('{{index .Mounts 0 "Destination"}}'), '/data');
    assert.equal(run('{{index .Config.Labels "missing"}}'), '<no value>');
  });
  it('slice', () => {
    assert.equal(run('{{slice .Config.Cmd 1}} {{slice .Id 0 12}}'), `[-g daemon off;] ${container.Id.slice(0, 12)}`);
  });
  it('printf with %s %d %v %q and %%', () => {
    assert.equal(run('{{printf "%s %d %v %q %%" .Name .State.ExitCode .Args .Name}}'), '/web 143 [-g daemon off;] "/web" %');
    assert.equal(run('{{printf "%-8s|%5d|%05d|%.2f|%x|%t" .Path 42 7 3.14159 255 true}}'), 'nginx   |   42|00007|3.14|ff|true');
  });
  it('printf reports bad verbs, missing and extra operands like Go', () => {
    assert.equal(run('{{printf "%d" .Name}}'), '%!d(string=/web)');
    assert.equal(run('{{printf "%s and %s" .Name}}'), '/web and %!s(MISSING)');
    assert.equal(run('{{printf "x" .Name 1}}'), 'x%!(EXTRA string=/web, int=1)');
    assert.equal(run('{{printf "%s" .Config.Entrypoint}}'), '%!s(<nil>)');
  });
  it('print and println space operands like Go', () => {
    assert.equal(run('{{print 1 2 "a" "b" 3}}'), '1 2ab3');
    assert.equal(run('{{println .Name .State.ExitCode}}'), '/web 143\n');
    assert.equal(run('{{print .Nope}}'), '<nil>');
  });
  it('compares with eq ne lt le gt ge', () => {
    assert.equal(run('{{eq .State.Status "exited"}} {{eq .State.ExitCode 0 143}} {{ne .State.ExitCode 0}}'), 'true true true');
    assert.equal(run('{{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge .RestartCount 1}}'), 'true true true false');
    assert.equal(run('{{eq .Nope nil}} {{eq .Name nil}}'), 'true false');
  });
  it('not, and, or (short-circuit, returning an operand)', () => {
    assert.equal(run('{{not .State.Running}} {{not "x"}}'), 'true false');
    assert.equal(run('{{and .Name .Path}} {{and .Name 0 .Path}} {{or .Nope "" .Path}}'), 'nginx 0 nginx');
    // The index would fail if it were evaluated.
    assert.equal(run('{{or .Name (index .Args 99)}} {{and .Nope (index .Args 99)}}'), '/web <nil>');
  });
  it("Docker's pad and truncate", () => {
    assert.equal(run('[{{pad .Path 1 2}}][{{pad "" 1 2}}][{{truncate .Id 12}}]'), `[ nginx  ][][${container.Id.slice(0, 12)}]`);
  });
  it('html, js and urlquery', () => {
    assert.equal(run(`{{html "<a href='x'>&"}}`), '&lt;a href=&#39;x&#39;&gt;&amp;');
    assert.equal(run(`{{js "it's <b>"}}`), "it\\'s \\u003Cb\\u003E");
    assert.equal(run('{{urlquery "a b&c=d"}}'), 'a+b%26c%3Dd');
  });
});

describe('template: pipelines', () => {
  it('passes the previous value as the last argument', () => {
    assert.equal(run('{{.Name | upper}}'), '/WEB');
    assert.equal(run('{{json .State | printf "%s"}}'), JSON.stringify(container.State));
    assert.equal(run('{{.Name | printf "%s=%s" "name"}}'), 'name=/web');
    assert.equal(run('{{index .Args 1 | upper | printf "<%s>"}}'), '<DAEMON OFF;>');
    assert.equal(run('{{.State.ExitCode | eq 143}}'), 'true');
  });
  it('evaluates parenthesised pipelines and chains fields off them', () => {
    assert.equal(run('{{len (split .Name "/")}}'), '2');
    assert.equal(run('{{(index .Mounts 0).Destination}}'), '/data');
  });
});

describe('template: if, with, range', () => {
  it('if / else if / else', () => {
    assert.equal(run('{{if .State.Running}}up{{else}}down{{end}}'), 'down');
    assert.equal(run('{{if .State.Running}}up{{else}}down{{end}}', running), 'up');
    const t = compileTemplate('{{if eq .State.ExitCode 0}}ok{{else if eq .State.ExitCode 143}}terminated{{else}}failed{{end}}');
    assert.equal(t(container), 'terminated');
    assert.equal(t(running), 'ok');
    assert.equal(t({ State: { ExitCode: 1 } }), 'failed');
  });
  it('uses Go truthiness', () => {
    const t = compileTemplate('{{if .}}T{{else}}F{{end}}');
    for (const v of [false, 0, '', null, undefined, [], {}]) assert.equal(t(v), 'F', JSON.stringify(v));
    for (const v of [true, 1, -1, 0.5, 'x', [0], { a: 0 }]) assert.equal(t(v), 'T', JSON.stringify(v));
  });
  it('range over arrays', () => {
    assert.equal(run('{{range .Config.Env}}{{println .}}{{end}}'), 'PATH=/usr/local/sbin:/usr/bin\nNGINX_VERSION=1.25.4\n');
    assert.equal(run('{{range .Args}}{{.}} {{end}}'), '-g daemon off; ');
    assert.equal(run('{{range $i, $v := .Args}}{{if $i}},{{end}}{{$i}}={{$v}}{{end}}'), '0=-g,1=daemon off;');
    assert.equal(run('{{range $v := .Args}}<{{$v}}>{{end}}'), '<-g><daemon off;>');
  });
  it('range over objects visits values in sorted key order', () => {
    assert.equal(run('{{range .Config.Labels}}{{.}};{{end}}'), 'dotted;web;bar;');
    assert.equal(run('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}} {{end}}'), 'a.b=dotted com.example.tier=web foo=bar ');
  });
  it('range else runs when there is nothing to visit', () => {
    assert.equal(run('{{range .NetworkSettings.Ports}}p{{else}}no ports{{end}}'), 'no ports');
    assert.equal(run('{{range .Nope}}x{{else}}none{{end}}'), 'none');
    assert.equal(run('{{range .Config.Entrypoint}}x{{else}}none{{end}}'), 'none');
  });
  it('range supports break, continue and integers', () => {
    assert.equal(run('{{range .Config.Cmd}}{{if eq . "-g"}}{{continue}}{{end}}{{.}}{{break}}{{end}}'), 'nginx');
    assert.equal(run('{{range .Config.Cmd}}{{if eq . "-g"}}{{continue}}{{end}}[{{.}}]{{end}}'), '[nginx][daemon off;]');
    assert.equal(run('{{range 3}}{{.}}{{end}}'), '012');
  });
  it('with sets the dot, with else / else with', () => {
    assert.equal(run('{{with .HostConfig.RestartPolicy}}{{.Name}}:{{.MaximumRetryCount}}{{end}}'), 'always:0');
    assert.equal(run('{{with .State.Health}}{{.Status}}{{else}}no healthcheck{{end}}'), 'no healthcheck');
    assert.equal(run('{{with .Nope}}a{{else with .State}}{{.Status}}{{end}}'), 'exited');
  });
});

describe('template: variables and literals', () => {
  it('declares, assigns and scopes variables; $ is the root', () => {
    assert.equal(run('{{$n := .Name}}{{$n}}'), '/web');
    assert.equal(run('{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}'), '2');
    assert.equal(run('{{range .Args}}{{$.Name}} {{end}}'), '/web /web ');
    assert.equal(run('{{with .State}}{{$.Path}}:{{.Status}}{{end}}'), 'nginx:exited');
    assert.equal(run('{{with $s := .State}}{{$s.ExitCode}}{{end}}'), '143');
    assert.equal(run('{{if $r := .State.Running}}yes{{else}}{{$r}}{{end}}'), 'false');
    fails('{{range .Args}}{{$y := .}}{{end}}{{$y}}', 'Template parsing error: template: :1: undefined variable "$y"');
  });
  it('reads string literals with escapes, raw strings, numbers, chars, booleans and nil', () => {
    assert.equal(run('{{"a\\tb\\n\\"q\\"\\\\"}}'), 'a\tb\n"q"\\');
    assert.equal(run('{{`raw \\n "x"`}}'), 'raw \\n "x"');
    assert.equal(run('{{"\\u00e9\\x41\\101"}}'), 'éAA');
    assert.equal(run("{{42}} {{-2}} {{3.5}} {{0x1F}} {{1_000}} {{'a'}}"), '42 -2 3.5 31 1000 97');
    assert.equal(run('{{true}} {{false}} {{print nil}}'), 'true false <nil>');
  });
  it('executes a compiled template many times without leaking state', () => {
    const t = compileTemplate('{{$x := .Name}}{{$x}}|{{.State.Status}}');
    assert.equal(t(container), '/web|exited');
    assert.equal(t({ ...running, Name: '/db' }), '/db|running');
    assert.equal(t(container), '/web|exited');
  });
  it('formats a ps-like row', () => {
    const row = { ID: 'f3c1d6a7b8e9', Image: 'nginx:latest', Command: '"nginx -g daemon off;"', Status: 'Up 2 minutes', Names: 'web' };
    assert.equal(run('{{.ID}}\t{{.Image}}\t{{.Status}}\t{{.Names}}', row), 'f3c1d6a7b8e9\tnginx:latest\tUp 2 minutes\tweb');
  });
});

describe('template: parse errors', () => {
  it('names an unknown function', () => {
    fails('{{foo .Name}}', 'Template parsing error: template: :1: function "foo" not defined');
  });
  it('rejects unterminated actions, strings and blocks', () => {
    fails('{{.Id', 'Template parsing error: template: :1: unclosed action');
    fails('{{.Id\n', 'Template parsing error: template: :2: unclosed action started at :1');
    fails('{{"abc}}', 'Template parsing error: template: :1: unterminated quoted string');
    fails('{{`abc}}', 'Template parsing error: template: :1: unterminated raw quoted string');
    fails('{{if .Id}}x', 'Template parsing error: template: :1: unexpected EOF');
    fails('{{len (.Args}}', 'Template parsing error: template: :1: unclosed left paren');
    fails('{{/* note', 'Template parsing error: template: :1: unclosed comment');
  });
  it('rejects stray {{end}} and {{else}}', () => {
    fails('{{end}}', 'Template parsing error: template: :1: unexpected {{end}}');
    fails('{{.Id}}{{else}}', 'Template parsing error: template: :1: unexpected {{else}}');
    fails('{{range .Args}}{{else}}{{else}}{{end}}', 'Template parsing error: template: :1: expected end; found {{else}}');
  });
  it('says define, template and block are not supported', () => {
    fails('{{define "x"}}y{{end}}', /^Template parsing error: template: :1: \{\{define\}\} is not supported$/);
    fails('{{template "x" .}}', /\{\{template\}\} is not supported$/);
    fails('{{block "x" .}}y{{end}}', /\{\{block\}\} is not supported$/);
  });
  it('reports other malformed actions', () => {
    fails('{{}}', 'Template parsing error: template: :1: missing value for command');
    fails('{{if}}x{{end}}', 'Template parsing error: template: :1: missing value for if');
    fails('{{.Id | 1}}', 'Template parsing error: template: :1: non executable command in pipeline stage 2');
    fails('{{#}}', 'Template parsing error: template: :1: unexpected "#" in command');
    fails('{{.Na-me}}', "Template parsing error: template: :1: bad character U+002D '-'");
    fails('{{break}}', 'Template parsing error: template: :1: {{break}} outside {{range}}');
    fails('{{"a".b}}', 'Template parsing error: template: :1: unexpected . after term "\\"a\\""');
    fails('{{range $a, $b, $c := .Args}}{{end}}', 'Template parsing error: template: :1: too many declarations in range');
    fails('{{"\\q"}}', 'Template parsing error: template: :1: invalid syntax');
  });
  it('reports the line of the fault', () => {
    fails('ID\nName\n{{foo}}', 'Template parsing error: template: :3: function "foo" not defined');
  });
});

describe('template: execution errors', () => {
  it('checks argument types and counts', () => {
    fails('{{upper .State.ExitCode}}', 'template: :1:14: executing "" at <.State.ExitCode>: wrong type for value; expected string; got int');
    fails('{{upper .Nope}}', /at <\.Nope>: invalid value; expected string$/);
    fails('{{upper}}', 'template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 0');
    fails('{{split .Name}}', /wrong number of args for split: want 2 got 1$/);
    fails('{{printf}}', /wrong number of args for printf: want at least 1 got 0$/);
  });
  it('wraps function failures as "error calling"', () => {
    fails('{{index .Args 5}}', 'template: :1:2: executing "" at <index .Args 5>: error calling index: index out of range: 5');
    fails('{{index .Name "x"}}', /error calling index: cannot index slice\/array with type string$/);
    fails('{{len .State.ExitCode}}', /error calling len: len of type int$/);
    fails('{{lt .Name 1}}', /error calling lt: incompatible types for comparison$/);
    fails('{{eq .Args .Args}}', /error calling eq: non-comparable type/);
  });
  it('rejects arguments to non-functions and impossible ranges', () => {
    fails('{{.Name "x"}}', 'template: :1:2: executing "" at <.Name>: Name is not a method but has arguments');
    fails('{{"x" 1}}', /can't give argument to non-function "x"$/);
    fails('{{nil}}', /nil is not a command$/);
    fails('{{range .Name}}{{end}}', 'template: :1:8: executing "" at <.Name>: range can\'t iterate over /web');
  });
});
