// Routes of the CRI v1 services: protobuf messages, every method of both services present.
import { create, fromBinary, toBinary, type DescMethod, type DescService } from '@bufbuild/protobuf';
import { criPath, CRI_SERVICES } from '../../api/cri/services.js';
import { unimplemented } from '../../api/errors.js';
import type { CriHandler } from '../../services/cri/handlers.js';
import type { MessageCodec } from './call.js';
import type { Route } from './dispatch.js';

function protobufCodec(method: DescMethod): MessageCodec {
  return {
    decode: (bytes) => fromBinary(method.input, bytes),
    encode: (message) => toBinary(method.output, create(method.output, message as never)),
  };
}

/**
 * Every method of the CRI services: the implemented ones from `handlers`, the others answer
 * UNIMPLEMENTED naming the method (kubelet treats that as "this runtime cannot", and
 * the methods are truly not built yet).
 */
export function criRoutes(handlers: CriHandler[], services: readonly DescService[] = CRI_SERVICES): Map<string, Route> {
  const implemented = new Map(handlers.map((h) => [h.method, h.handler]));
  const routes = new Map<string, Route>();
  for (const service of services) {
    for (const method of service.methods) {
      const path = criPath(method);
      const name = path.slice(1);
      const handler =
        implemented.get(method) ??
        (async (): Promise<never> => {
          throw unimplemented(`${name} is not implemented by this engine yet`);
        });
      // CRI has unary and server-streaming methods only.
      const kind = method.methodKind === 'unary' ? 'unary' : 'server-stream';
      routes.set(path, { method: name, kind, handler, codec: protobufCodec(method), protobuf: true });
    }
  }
  return routes;
}
