import type { Logger } from '@trinity/core';
import type { S3Backend, S3Index } from './backend.js';
import { freePieces } from './context.js';

/**
 * Garbage collection of abandoned multipart uploads: S3 keeps an upload's parts until it is completed
 * or aborted; a client that goes away leaves them behind. This aborts every upload in `bucket` older
 * than `maxAgeMs` and frees its parts. The daemon runs it per bucket on its lifecycle timer.
 */
export async function abortStaleUploads(
  deps: { readonly index: S3Index; readonly backend: S3Backend; readonly logger: Logger },
  bucket: string,
  nowMs: number,
  maxAgeMs: number,
  uploadsMax = 10_000,
): Promise<number> {
  let aborted = 0;
  let afterKey = '';
  let afterUploadId = '\uffff';
  for (let seen = 0; seen < uploadsMax; ) {
    const page = await deps.index.listUploads(bucket, { prefix: '', afterKey, afterUploadId, limit: 1000 });
    for (const upload of page) {
      if (nowMs - upload.initiatedMs <= maxAgeMs) continue;
      const parts = await deps.index.abortUpload(bucket, upload.uploadId);
      if (parts === undefined) continue;
      await freePieces(
        deps,
        parts.map((p) => p.piece),
      );
      aborted++;
    }
    seen += page.length;
    const last = page.at(-1);
    if (last === undefined || page.length < 1000) break;
    afterKey = last.key;
    afterUploadId = last.uploadId;
  }
  return aborted;
}
