import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

const memo = new Map<string, Promise<string>>();

/**
 * The SHA-256 of a file's content (hex), read as a stream. What the panel caches a prepared graph
 * under: a file's size and time say too little (a Hub download replaced by another revision can
 * keep both). Remembered per path, size, time and inode for the extension host's life, so a large
 * model is read once per session.
 */
export function contentHash(file: string): Promise<string> {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    return Promise.reject(e as Error);
  }
  const key = `${file}\0${st.size}\0${st.mtimeMs}\0${st.ino}`;
  let h = memo.get(key);
  if (!h) {
    h = new Promise<string>((resolve, reject) => {
      const hash = createHash('sha256');
      fs.createReadStream(file)
        .on('data', (chunk) => hash.update(chunk))
        .on('error', reject)
        .on('end', () => resolve(hash.digest('hex')));
    });
    memo.set(key, h);
    h.catch(() => memo.delete(key));
  }
  return h;
}
