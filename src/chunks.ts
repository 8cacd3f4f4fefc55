/**
 * Holding received chunks without paying per chunk: a peer that sends one
 * byte per packet would otherwise make a decoder keep one Buffer object
 * (about 100 bytes of overhead) per byte. Runs of small chunks are merged;
 * big chunks are kept as they are, so reassembly stays linear.
 *
 * @module
 */

/** Chunks shorter than this count as small. */
export const SMALL_CHUNK_BYTES = 1024;
/** This many small chunks in a row are merged into one. */
export const SMALL_RUN = 64;

/**
 * Appends `chunk` to `list`, merging the trailing run of small chunks once it
 * is {@link SMALL_RUN} long.
 *
 * @param run - the length of the trailing small run before this push
 * @returns the length of the trailing small run after it
 */
export function pushChunk(list: Buffer[], chunk: Buffer, run: number): number {
  list.push(chunk);
  if (chunk.length >= SMALL_CHUNK_BYTES) return 0;
  const length = Math.min(run + 1, list.length);
  if (length < SMALL_RUN) return length;
  const parts = list.splice(list.length - length, length);
  let total = 0;
  for (const p of parts) total += p.length;
  const merged = Buffer.allocUnsafeSlow(total); // not from the shared pool: received bytes stay apart
  let offset = 0;
  for (const p of parts) offset += p.copy(merged, offset);
  list.push(merged);
  return merged.length < SMALL_CHUNK_BYTES ? 1 : 0;
}
