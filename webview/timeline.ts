/**
 * The page's own record of where time goes, from its first script to each painted result: stage
 * marks (epoch milliseconds, so that they line up with the host's and the test driver's clocks),
 * every resource it fetched (bytes, ms), and the long tasks on its main thread. Published as JSON
 * on `document.body.dataset.timeline` for `npm run bench -- vscode` and the tests; nothing else
 * reads it.
 */
export interface ResourceTiming {
  name: string;
  bytes: number;
  startMs: number;
  ms: number;
}

export interface LongTasks {
  count: number;
  longestMs: number;
  totalMs: number;
}

export interface TimelineRecord {
  /** performance.timeOrigin: when the page's navigation started (epoch ms). */
  origin: number;
  /** Stage name → epoch ms of its end (or of the event). */
  marks: Record<string, number>;
  /** Stage name → its duration in ms, where a stage is measured as a span. */
  spans: Record<string, number>;
  resources: ResourceTiming[];
  /**
   * Long tasks (over 50 ms) on the event loop the panel runs on. In code-server the webview shares
   * its origin, and so its main thread, with the workbench: `longTasks` counts them all, `ownLongTasks`
   * only those the browser attributes to the panel's own frame.
   */
  longTasks: LongTasks;
  ownLongTasks: LongTasks;
  /** The panel's own long tasks: when each started (ms since `origin`) and how long it took (the first 20). */
  ownLongTaskList: { startMs: number; ms: number }[];
}

const epochNow = (): number => performance.timeOrigin + performance.now();

export class PageTimeline {
  private readonly record: TimelineRecord = {
    origin: performance.timeOrigin,
    marks: {},
    spans: {},
    resources: [],
    longTasks: { count: 0, longestMs: 0, totalMs: 0 },
    ownLongTasks: { count: 0, longestMs: 0, totalMs: 0 },
    ownLongTaskList: [],
  };

  constructor() {
    try {
      // Long tasks are not buffered before the observer exists: this runs first in main.ts.
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          const own = e.name === 'self';
          if (own && this.record.ownLongTaskList.length < 20)
            this.record.ownLongTaskList.push({ startMs: e.startTime, ms: e.duration });
          const lists = own ? [this.record.longTasks, this.record.ownLongTasks] : [this.record.longTasks];
          for (const l of lists) {
            l.count++;
            l.totalMs += e.duration;
            l.longestMs = Math.max(l.longestMs, e.duration);
          }
        }
        this.publish();
      }).observe({ type: 'longtask', buffered: true });
    } catch {
      /* no Long Tasks API: the counts stay at zero */
    }
  }

  /** Records that a stage ended now (the first time only, unless `again`). */
  mark(name: string, again = false): void {
    if (again || !(name in this.record.marks)) this.record.marks[name] = epochNow();
    this.publish();
  }

  span(name: string, ms: number): void {
    this.record.spans[name] = ms;
    this.publish();
  }

  /** Every resource the page fetched so far (Resource Timing), replacing the earlier list. */
  collectResources(): void {
    this.record.resources = performance.getEntriesByType('resource').map((e) => {
      const r = e as PerformanceResourceTiming;
      return {
        name: r.name.slice(r.name.lastIndexOf('/') + 1).split('?')[0],
        bytes: r.decodedBodySize || r.encodedBodySize,
        startMs: r.startTime,
        ms: r.responseEnd - r.startTime,
      };
    });
    this.publish();
  }

  private publish(): void {
    if (document.body) document.body.dataset.timeline = JSON.stringify(this.record);
  }
}
