import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  ERROR_KINDS,
  type ErrorKind,
  ExitCode,
  generalError,
  imageBusy,
  imageNotFound,
  kindOfStatus,
  nameConflict,
  notFound,
  toEngineError,
} from '../../src/api/errors.js';
import { requireOperation, refuseInGc } from '../../src/container/state.js';
import { ContainerStore } from '../../src/container/store.js';
import { EmbeddedImageStore } from '../../src/image/embedded/store.js';
import { type ImageVerbDeps, listImages, loadImage, removeImage } from '../../src/image/embedded/verbs.js';
import type { KernelFeatureSet } from '../../src/sys/kernel.js';

// Each error's kind (its gRPC status) and iSulad exit code; grpc-js names the statuses.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'error-kinds-test-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The kind and exit code of what `fn` throws. */
function thrown(fn: () => unknown): [ErrorKind, number] {
  try {
    fn();
  } catch (e) {
    const err = toEngineError(e);
    return [err.kind, err.exitCode];
  }
  return assert.fail('did not throw');
}

async function rejected(p: Promise<unknown>): Promise<[ErrorKind, number]> {
  const err = toEngineError(
    await p.then(
      () => assert.fail('did not reject'),
      (e: unknown) => e,
    ),
  );
  return [err.kind, err.exitCode];
}

describe('error kinds', () => {
  it('map each kind to one exit code of iSulad and one gRPC status', () => {
    const want: Record<ErrorKind, [number, number]> = {
      NotFound: [1, grpc.status.NOT_FOUND],
      AlreadyExists: [3, grpc.status.ALREADY_EXISTS],
      InvalidArgument: [125, grpc.status.INVALID_ARGUMENT],
      FailedPrecondition: [1, grpc.status.FAILED_PRECONDITION],
      ResourceExhausted: [1, grpc.status.RESOURCE_EXHAUSTED],
      DeadlineExceeded: [1, grpc.status.DEADLINE_EXCEEDED],
      Unimplemented: [1, grpc.status.UNIMPLEMENTED],
      Internal: [125, grpc.status.INTERNAL],
      Unknown: [1, grpc.status.UNKNOWN],
    };
    assert.deepEqual(Object.fromEntries(Object.entries(ERROR_KINDS).map(([k, v]) => [k, [v.exitCode, v.grpcStatus]])), want);
    for (const kind of Object.keys(want) as ErrorKind[]) assert.equal(kindOfStatus(ERROR_KINDS[kind].grpcStatus), kind);
    assert.equal(kindOfStatus(grpc.status.UNAVAILABLE), 'Unknown');
  });

  it('keep the exit codes the errors had, with a kind for each', () => {
    const cases: [Error, ErrorKind, number][] = [
      [notFound('No such container: x'), 'NotFound', ExitCode.general],
      [imageNotFound('No such image: x'), 'NotFound', ExitCode.imageNotFound],
      [imageBusy('used'), 'FailedPrecondition', ExitCode.imageBusy],
      [nameConflict('in use'), 'AlreadyExists', ExitCode.nameConflict],
      [generalError('failed'), 'Unknown', ExitCode.general],
      [new Error('EIO'), 'Internal', ExitCode.serverError],
    ];
    for (const [e, kind, exitCode] of cases)
      assert.deepEqual(
        thrown(() => {
          throw e;
        }),
        [kind, exitCode],
        e.message,
      );
  });

  it('are set where the container domain refuses', () => {
    assert.deepEqual(
      thrown(() => new ContainerStore(path.join(dir, 'containers')).get('nothing')),
      ['NotFound', ExitCode.general],
    );
    assert.deepEqual(
      thrown(() => requireOperation('kill', 'exited', 'a'.repeat(64))),
      ['FailedPrecondition', ExitCode.general],
    );
    assert.deepEqual(
      thrown(() => requireOperation('exec', 'paused', 'a'.repeat(64))),
      ['FailedPrecondition', ExitCode.general],
    );
    assert.deepEqual(
      thrown(() => refuseInGc(true, 'a'.repeat(64), 'start')),
      ['FailedPrecondition', ExitCode.general],
    );
  });

  it('are set where the image verbs refuse', async () => {
    const deps: ImageVerbDeps = {
      store: new EmbeddedImageStore(path.join(dir, 'images')),
      kernel: {} as KernelFeatureSet,
      usersOf: () => [],
      emit: () => undefined,
    };
    assert.deepEqual(
      thrown(() => removeImage(deps, 'nothing', false)),
      ['NotFound', ExitCode.imageNotFound],
    );
    assert.deepEqual(
      thrown(() => listImages(deps.store, { dangling: ['true'] })),
      ['InvalidArgument', ExitCode.general],
    );
    assert.deepEqual(await rejected(loadImage(deps, { path: '/x', type: 'docker' })), ['Unimplemented', ExitCode.general]);
    assert.deepEqual(await rejected(loadImage(deps, { path: '/x', type: 'embedded', tag: 'a:b' })), ['InvalidArgument', ExitCode.general]);
  });
});
