/** Resident memory of the benchmark's processes, read from the kernel (Linux /proc). */
import * as fs from 'node:fs';
import type { Browser } from 'playwright-core';

/** A process's resident memory now (VmRSS) or at its peak (VmHWM, the kernel's high-water mark). */
function residentBytes(pid: number, which: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${which}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // the process has ended
  }
}
export const vmHwm = (pid: number): number => residentBytes(pid, 'VmHWM');
export const vmRss = (pid: number): number => residentBytes(pid, 'VmRSS');
export const MiB = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(0)} MiB`;

/** The browser's renderer processes (each page or cross-origin frame may have its own). */
export async function rendererPids(browser: Browser): Promise<number[]> {
  const cdp = await browser.newBrowserCDPSession();
  const info = (await cdp.send('SystemInfo.getProcessInfo')) as { processInfo: { type: string; id: number }[] };
  await cdp.detach();
  return info.processInfo.filter((p) => p.type === 'renderer').map((p) => p.id);
}
