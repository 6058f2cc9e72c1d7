import type {
  AttachRequest,
  CreateRequest,
  CreateResponse,
  EngineEvent,
  EventsRequest,
  ExecRequest,
  ExportRequest,
  IdRequest,
  InspectResponse,
  KillRequest,
  ListRequest,
  ListResponse,
  LogsRequest,
  OutputChunk,
  RemoveRequest,
  RenameRequest,
  StopRequest,
  TopRequest,
  TopResponse,
  UpdateRequest,
  WaitResponse,
} from './containers.js';
import type {
  ArchiveChunk,
  ImageSummary,
  ImportRequest,
  ImportResponse,
  InspectImageRequest,
  InspectImageResponse,
  ListImagesRequest,
  ListImagesResponse,
  HistoryRequest,
  HistoryResponse,
  LoadRequest,
  LoadResponse,
  LoginRequest,
  LogoutRequest,
  PruneImagesRequest,
  PruneImagesResponse,
  PullProgress,
  PullRequest,
  PushRequest,
  RemoveImageRequest,
  SaveRequest,
  RemoveImageResponse,
  TagRequest,
} from './images.js';
import type { InfoRequest, InfoResponse, VersionRequest, VersionResponse } from './system.js';

type Empty = Record<string, never>;

/**
 * The wire contract: every method the daemon serves, its shape, and its message types.
 * A method `Svc/Name` travels as the gRPC path `/isulad.Svc/Name`.
 */
export const methodKinds = {
  'SystemService/Version': 'unary',
  'SystemService/Info': 'unary',
  'SystemService/Events': 'server-stream',
  'ContainerService/Create': 'unary',
  'ContainerService/Start': 'unary',
  'ContainerService/Stop': 'unary',
  'ContainerService/Kill': 'unary',
  'ContainerService/Restart': 'unary',
  'ContainerService/Pause': 'unary',
  'ContainerService/Unpause': 'unary',
  'ContainerService/Remove': 'unary',
  'ContainerService/List': 'unary',
  'ContainerService/Inspect': 'unary',
  'ContainerService/Wait': 'unary',
  'ContainerService/Rename': 'unary',
  'ContainerService/Update': 'unary',
  'ContainerService/Top': 'unary',
  'ContainerService/Logs': 'server-stream',
  'ContainerService/Attach': 'bidi',
  'ContainerService/Exec': 'bidi',
  'ImageService/Load': 'unary',
  'ImageService/List': 'unary',
  'ImageService/Remove': 'unary',
  'ImageService/Inspect': 'unary',
  'ImageService/Save': 'server-stream',
  'ImageService/Import': 'unary',
  'ContainerService/Export': 'server-stream',
  'ImageService/Pull': 'server-stream',
  'ImageService/Push': 'server-stream',
  'ImageService/Login': 'unary',
  'ImageService/Logout': 'unary',
  'ImageService/Tag': 'unary',
  'ImageService/History': 'unary',
  'ImageService/Prune': 'unary',
} as const;

export type MethodName = keyof typeof methodKinds;
export type MethodKind = (typeof methodKinds)[MethodName];

export interface MethodTypes {
  'SystemService/Version': { req: VersionRequest; res: VersionResponse };
  'SystemService/Info': { req: InfoRequest; res: InfoResponse };
  'SystemService/Events': { req: EventsRequest; res: EngineEvent };
  'ContainerService/Create': { req: CreateRequest; res: CreateResponse };
  'ContainerService/Start': { req: IdRequest; res: Empty };
  'ContainerService/Stop': { req: StopRequest; res: Empty };
  'ContainerService/Kill': { req: KillRequest; res: Empty };
  'ContainerService/Restart': { req: StopRequest; res: Empty };
  'ContainerService/Pause': { req: IdRequest; res: Empty };
  'ContainerService/Unpause': { req: IdRequest; res: Empty };
  'ContainerService/Remove': { req: RemoveRequest; res: Empty };
  'ContainerService/List': { req: ListRequest; res: ListResponse };
  'ContainerService/Inspect': { req: IdRequest; res: InspectResponse };
  'ContainerService/Wait': { req: IdRequest; res: WaitResponse };
  'ContainerService/Rename': { req: RenameRequest; res: Empty };
  'ContainerService/Update': { req: UpdateRequest; res: Empty };
  'ContainerService/Top': { req: TopRequest; res: TopResponse };
  'ContainerService/Logs': { req: LogsRequest; res: OutputChunk };
  'ContainerService/Attach': { req: AttachRequest; res: OutputChunk };
  'ContainerService/Exec': { req: ExecRequest; res: OutputChunk };
  'ImageService/Load': { req: LoadRequest; res: LoadResponse };
  'ImageService/List': { req: ListImagesRequest; res: ListImagesResponse };
  'ImageService/Remove': { req: RemoveImageRequest; res: RemoveImageResponse };
  'ImageService/Inspect': { req: InspectImageRequest; res: InspectImageResponse };
  'ImageService/Save': { req: SaveRequest; res: ArchiveChunk };
  'ImageService/Import': { req: ImportRequest; res: ImportResponse };
  'ContainerService/Export': { req: ExportRequest; res: ArchiveChunk };
  'ImageService/Pull': { req: PullRequest; res: PullProgress };
  'ImageService/Push': { req: PushRequest; res: PullProgress };
  'ImageService/Login': { req: LoginRequest; res: Empty };
  'ImageService/Logout': { req: LogoutRequest; res: Empty };
  'ImageService/Tag': { req: TagRequest; res: Empty };
  'ImageService/History': { req: HistoryRequest; res: HistoryResponse };
  'ImageService/Prune': { req: PruneImagesRequest; res: PruneImagesResponse };
}

export type { ImageSummary };

type MethodsOfKind<K extends MethodKind> = {
  [M in MethodName]: (typeof methodKinds)[M] extends K ? M : never;
}[MethodName];

export type UnaryMethod = MethodsOfKind<'unary'>;
export type StreamMethod = Exclude<MethodName, UnaryMethod>;
export type Req<M extends MethodName> = MethodTypes[M]['req'];
export type Res<M extends MethodName> = MethodTypes[M]['res'];

export const GRPC_PACKAGE = 'isulad';

export function grpcPath(method: MethodName): string {
  return `/${GRPC_PACKAGE}.${method}`;
}
