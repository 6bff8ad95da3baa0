/**
 * Coded errors shared by every front end. The HTTP layer, the gRPC layer and the CLI
 * all map a BerthError the same way: by its code (and the status the code carries).
 */
export const ErrorCodes = {
  BAD_REQUEST: { code: 'BERTH_E_BAD_REQUEST', status: 400, grpc: 'INVALID_ARGUMENT' },
  SHAPE: { code: 'BERTH_E_SHAPE', status: 400, grpc: 'INVALID_ARGUMENT' },
  DATATYPE: { code: 'BERTH_E_DATATYPE', status: 400, grpc: 'INVALID_ARGUMENT' },
  INVALID_MODEL: { code: 'BERTH_E_INVALID_MODEL', status: 400, grpc: 'INVALID_ARGUMENT' },
  UNAUTHENTICATED: { code: 'BERTH_E_UNAUTHENTICATED', status: 401, grpc: 'UNAUTHENTICATED' },
  FORBIDDEN: { code: 'BERTH_E_FORBIDDEN', status: 403, grpc: 'PERMISSION_DENIED' },
  NOT_FOUND: { code: 'BERTH_E_NOT_FOUND', status: 404, grpc: 'NOT_FOUND' },
  CONFLICT: { code: 'BERTH_E_CONFLICT', status: 409, grpc: 'FAILED_PRECONDITION' },
  PAYLOAD_TOO_LARGE: { code: 'BERTH_E_PAYLOAD_TOO_LARGE', status: 413, grpc: 'RESOURCE_EXHAUSTED' },
  CORRUPT_ARTIFACT: { code: 'BERTH_E_CORRUPT_ARTIFACT', status: 503, grpc: 'UNAVAILABLE' },
  NOT_READY: { code: 'BERTH_E_NOT_READY', status: 503, grpc: 'UNAVAILABLE' },
  INFERENCE: { code: 'BERTH_E_INFERENCE', status: 500, grpc: 'INTERNAL' },
  INTERNAL: { code: 'BERTH_E_INTERNAL', status: 500, grpc: 'INTERNAL' },
} as const;

export type ErrorKind = keyof typeof ErrorCodes;
export type ErrorCode = (typeof ErrorCodes)[ErrorKind]['code'];

/** An error whose code says how every front end reports it. */
export class BerthError extends Error {
  readonly kind: ErrorKind;
  readonly code: ErrorCode;
  readonly status: number;
  /** The request field at fault, when there is one (e.g. `inputs[0].shape`). */
  readonly field?: string;

  constructor(kind: ErrorKind, message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BerthError';
    this.kind = kind;
    this.code = ErrorCodes[kind].code;
    this.status = ErrorCodes[kind].status;
    if (options?.field !== undefined) this.field = options.field;
  }
}

/** Shorthand constructors, so call sites read as the failure they report. */
export const errors = {
  badRequest: (message: string, field?: string) => new BerthError('BAD_REQUEST', message, { field }),
  shape: (message: string, field?: string) => new BerthError('SHAPE', message, { field }),
  datatype: (message: string, field?: string) => new BerthError('DATATYPE', message, { field }),
  invalidModel: (message: string, cause?: unknown) => new BerthError('INVALID_MODEL', message, { cause }),
  notFound: (message: string) => new BerthError('NOT_FOUND', message),
  conflict: (message: string) => new BerthError('CONFLICT', message),
  notReady: (message: string) => new BerthError('NOT_READY', message),
  corrupt: (message: string) => new BerthError('CORRUPT_ARTIFACT', message),
  unauthenticated: (message: string) => new BerthError('UNAUTHENTICATED', message),
  forbidden: (message: string) => new BerthError('FORBIDDEN', message),
  inference: (message: string, cause?: unknown) => new BerthError('INFERENCE', message, { cause }),
};

export function isBerthError(e: unknown): e is BerthError {
  return e instanceof BerthError;
}
