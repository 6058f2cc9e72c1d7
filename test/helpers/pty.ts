import { spawn } from 'node:child_process';
import { Streaming } from './cli.js';
import { ISULA, type TestEngine } from './engine.js';

/**
 * Runs a command on a new pseudo-terminal of a given size (python3's pty module), as a user
 * at a terminal would: our writes are typed at the terminal, its output is our stdout, and
 * the process exits with the command's exit code.
 */
const PTY_RELAY = `
import os, pty, sys, select, fcntl, termios, struct
rows, cols = int(sys.argv[1]), int(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.execvp(sys.argv[3], sys.argv[3:])
inputs = [fd, 0]
while True:
    ready, _, _ = select.select(inputs, [], [])
    if 0 in ready:
        data = os.read(0, 4096)
        if data:
            os.write(fd, data)
        else:
            inputs.remove(0)
    if fd in ready:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b''
        if not data:
            break
        os.write(1, data)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) & 0xff)
`;

/** `isula ARGS` on a terminal of rows x cols, with TERM as given (unset when undefined). */
export function isulaOnTerminal(engine: TestEngine, args: string[], size: { rows: number; cols: number }, term: string | undefined): Streaming {
  const env = { ...process.env };
  if (term === undefined) delete env.TERM;
  else env.TERM = term;
  return new Streaming(
    spawn('python3', ['-c', PTY_RELAY, String(size.rows), String(size.cols), ISULA, '-H', engine.host, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] }),
  );
}

/** Any command on a terminal of rows x cols. */
export function onTerminal(cmd: string, args: string[], size: { rows: number; cols: number }): Streaming {
  return new Streaming(spawn('python3', ['-c', PTY_RELAY, String(size.rows), String(size.cols), cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] }));
}
