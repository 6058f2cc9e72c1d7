/**
 * The client's output streams, each made on first use: Node builds process.stderr lazily,
 * and making it costs about 5 ms of a call that never writes to it.
 */
let out: NodeJS.WriteStream | undefined;
let err: NodeJS.WriteStream | undefined;

/** A reader that went away (`isula logs -f | head`) ends us quietly, as SIGPIPE would. */
function exitOnClosedOutput(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  return stream;
}

export function stdout(): NodeJS.WriteStream {
  return (out ??= exitOnClosedOutput(process.stdout));
}

export function stderr(): NodeJS.WriteStream {
  return (err ??= exitOnClosedOutput(process.stderr));
}
