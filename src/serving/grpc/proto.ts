/** Loads inference.proto, from beside this module or (in a build, where tsc copies no .proto) from src/. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type GrpcObject, loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';

/** How messages look in JS: .proto field names, 64-bit integers as decimal strings, bytes as Buffers. */
export const PROTO_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
};

const CANDIDATES = ['./inference.proto', '../../../src/serving/grpc/inference.proto'];

/** Absolute path of the service definition (package `inference`). */
export function protoPath(): string {
  for (const c of CANDIDATES) {
    const p = fileURLToPath(new URL(c, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error(`inference.proto not found beside ${fileURLToPath(import.meta.url)}`);
}

let cached: PackageDefinition | undefined;

/** The parsed package definition (loaded once). */
export function inferencePackage(): PackageDefinition {
  cached ??= loadSync(protoPath(), PROTO_OPTIONS);
  return cached;
}

/** The generated client/service constructor for `inference.GRPCInferenceService`. */
export function inferenceService(): ServiceClientConstructor {
  const pkg = loadPackageDefinition(inferencePackage()).inference as GrpcObject;
  return pkg.GRPCInferenceService as ServiceClientConstructor;
}
