import type { ExecuteOptions, OperationOutcome, OperationRequest, OperationRouter } from '../../router/types.ts';

/**
 * An OperationRouter for tests: records every request and answers from a responder (default: 200 with
 * the applied manifest echoed, or a deletion of the target).
 */
export interface RecordedCall {
  account: string;
  request: OperationRequest;
  options?: ExecuteOptions;
}

export type Responder = (account: string, request: OperationRequest) => Partial<OperationOutcome> | Promise<Partial<OperationOutcome>>;

export class FakeRouter implements OperationRouter {
  readonly calls: RecordedCall[] = [];
  connected = new Set<string>();
  private count = 0;

  constructor(public responder: Responder = defaultResponder) {}

  isConnected(account: string): boolean {
    return this.connected.has(account);
  }

  async execute(account: string, request: OperationRequest, options?: ExecuteOptions): Promise<OperationOutcome> {
    this.calls.push({ account, request, options });
    const partial = await this.responder(account, request);
    return {
      id: `op-${++this.count}`,
      account,
      httpStatus: 200,
      errorCode: null,
      message: '',
      body: null,
      written: [],
      timings: { receivedAt: 0, routedAt: null, sentAt: null, startedAt: null, finishedAt: null, syncedAt: null, resultAt: null },
      cacheSynced: true,
      ...partial,
    };
  }
}

export function defaultResponder(_account: string, request: OperationRequest): Partial<OperationOutcome> {
  if (request.type === 'apply') {
    const body = structuredClone(request.manifest);
    body.metadata = { ...body.metadata, uid: `uid-${body.metadata?.name}`, resourceVersion: '100' };
    return { httpStatus: 200, body };
  }
  if (request.type === 'delete') {
    const t = request.target;
    return {
      httpStatus: 200,
      written: t.name === '' ? [] : [{ group: t.group, kind: t.kind, namespace: t.namespace, name: t.name, uid: 'u', resourceVersion: '101', deleted: true }],
    };
  }
  return { httpStatus: 200 };
}
