/**
 * Content-addressed blob storage. Blobs are addressed by the SHA-256 (lowercase hex) of their bytes;
 * writes are atomic (temp file, fsync, rename), reads verify the hash and throw CORRUPT_ARTIFACT on
 * a mismatch, so a damaged file is never handed out.
 */
export interface ArtifactStore {
  /** Stores the bytes (idempotent) and returns their SHA-256. */
  put(bytes: Uint8Array): Promise<{ sha256: string; sizeBytes: number }>;
  /** Streams a file into the store without holding it in memory. */
  putFile(path: string): Promise<{ sha256: string; sizeBytes: number }>;
  /** Returns the verified bytes; NOT_FOUND if absent, CORRUPT_ARTIFACT if the hash does not match. */
  get(sha256: string): Promise<Uint8Array>;
  has(sha256: string): Promise<boolean>;
  /** A local path to the verified blob (for tools like DuckDB that read files). */
  localPath(sha256: string): Promise<string>;
  delete(sha256: string): Promise<void>;
}
