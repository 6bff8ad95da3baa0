/** The gRPC front end (Open Inference Protocol v2, package `inference`). */
export { type GrpcServerOptions, grpcStatusOf, type RunningGrpcServer, startGrpcServer } from './server.js';
export { inferencePackage, inferenceService, PROTO_OPTIONS, protoPath } from './proto.js';
