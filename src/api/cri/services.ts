import type { DescMethod, DescService } from '@bufbuild/protobuf';
import { ImageService, RuntimeService } from './gen/api_pb.js';

/** The two CRI v1 services, served on the engine's sockets when enable-cri-v1 is on. */
export const CRI_SERVICES: readonly DescService[] = [RuntimeService, ImageService];

/** A method's gRPC path: `/runtime.v1.RuntimeService/Version`. */
export function criPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}
