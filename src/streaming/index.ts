// The CRI streaming server: what the daemon and the CRI RuntimeService use of it.
export { StreamingServer, type StreamingServerOptions } from './server.js';
export type { AttachRequest, ExecRequest, PortForwardRequest, StreamingBackend, StreamIo, TerminalSize } from './types.js';
