/**
 * What a Go stack is doing, from its frames. The categories are the vocabulary of the user-space rules.
 * Patterns are about the Go runtime and standard library (and common clients), never about our lab.
 */

export type FrameCategory =
  | 'gc' // background mark/sweep work
  | 'gc-assist' // a goroutine paying GC debt while allocating
  | 'alloc' // heap allocation
  | 'scheduler' // finding, switching, preempting goroutines
  | 'lock' // sync.Mutex / RWMutex / runtime locks
  | 'channel' // channel send/receive, select, WaitGroup/Cond waits
  | 'syscall' // in a system call
  | 'netpoll' // waiting for a socket to become ready
  | 'sleep' // time.Sleep / timers
  | 'runtime' // other runtime work
  | 'app'; // application and library code

/** Categories in which a goroutine is parked rather than running. */
export const WAIT_CATEGORIES: ReadonlySet<FrameCategory> = new Set(['lock', 'channel', 'netpoll', 'sleep', 'syscall', 'gc-assist']);

// Checked anywhere on the stack first: these decide the category whatever the leaf is.
const GC_ASSIST = /^runtime\.(gcAssistAlloc1?|gcParkAssist)$/;
const GC_WORK = /^runtime\.(gcBgMarkWorker|gcDrain\w*|markroot\w*|scanobject|scanblock|scanstack|bgsweep|sweepone|bgscavenge|gcMarkDone|gcMarkTermination|gcStart|stopTheWorldWithSema|\(\*sweepLocked\)\.sweep|\(\*gcWork\)\.\w+|greyobject|wbBufFlush1?)$/;

// Leaf-to-root: the first frame that matches one of these decides. Transparent frames are skipped.
const TRANSPARENT = /^(runtime\.(gopark|goparkunlock|semacquire1|mcall|notifyListWait)|sync\.runtime_(Semacquire|notifyListWait))$/;
const LEAF_RULES: Array<[RegExp, FrameCategory]> = [
  [/^runtime\.(mallocgc\w*|newobject|newarray|makeslice\w*|growslice|makemap\w*|rawstring\w*|rawbyteslice|slicebytetostring|concatstrings|\(\*mcache\)\.\w+|\(\*mcentral\)\.\w+|\(\*mheap\)\.\w+|nextFreeFast|heapSetType\w*)$/, 'alloc'],
  [/^(sync\.\(\*(Mutex|RWMutex)\)\.\w+|sync\.runtime_Semacquire(Mutex|RWMutex\w*)|internal\/sync\.\(\*Mutex\)\.\w+|runtime\.(lock2|lockWithRank|unlock2))$/, 'lock'],
  [/^(runtime\.(chanrecv[12]?|chansend1?|selectgo|selectnbrecv|selectnbsend|block)|sync\.\(\*(WaitGroup|Cond)\)\.Wait)$/, 'channel'],
  [/^(internal\/poll\.runtime_pollWait|runtime\.netpollblock|internal\/poll\.\(\*pollDesc\)\.wait\w*)$/, 'netpoll'],
  [/^(time\.Sleep|runtime\.timeSleep)$/, 'sleep'],
  [/^(syscall\.(Syscall\w*|RawSyscall\w*|syscall\w*|rawSyscall\w*)|(internal\/runtime|runtime\/internal)\/syscall\.\w*Syscall\w*|golang\.org\/x\/sys\/unix\.\w*Syscall\w*|runtime\.(entersyscall\w*|exitsyscall\w*))$/, 'syscall'],
  [/^runtime\.(schedule|findRunnable|findrunnable|stopm|startm|park_m|goschedImpl|gopreempt_m|gosched_m|runqgrab|runqsteal|stealWork|wakep|handoffp|sysmon|asyncPreempt2?|notewakeup|notesleep|goready|ready|checkTimers|netpoll|preemptone|retake|resetspinning|injectglist|casgstatus|execute|gogo)$/, 'scheduler'],
];

const catCache = new Map<string, FrameCategory | null>();

/** Category decided by one frame alone (null when the frame says nothing). */
function frameRule(name: string): FrameCategory | null {
  let c = catCache.get(name);
  if (c !== undefined) return c;
  c = null;
  for (const [re, cat] of LEAF_RULES) {
    if (re.test(name)) {
      c = cat;
      break;
    }
  }
  catCache.set(name, c);
  return c;
}

/** Per frame name: 2 = GC assist, 1 = GC work, 0 = neither. Cached: stacks repeat the same names. */
const gcCache = new Map<string, number>();
function gcKind(name: string): number {
  let k = gcCache.get(name);
  if (k === undefined) gcCache.set(name, (k = GC_ASSIST.test(name) ? 2 : GC_WORK.test(name) ? 1 : 0));
  return k;
}

/** Classify a root-first stack. */
export function classifyStack(frames: readonly string[]): FrameCategory {
  let gc = false;
  for (const f of frames) {
    const k = gcKind(f);
    if (k === 2) return 'gc-assist';
    if (k === 1) gc = true;
  }
  if (gc) return 'gc';
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i];
    if (TRANSPARENT.test(f)) continue;
    const c = frameRule(f);
    if (c) return c;
    if (!f.startsWith('runtime.')) return 'app';
  }
  const leaf = frames[frames.length - 1];
  return leaf === undefined || leaf.startsWith('runtime.') ? 'runtime' : 'app';
}

/** Serving a request: inside an HTTP handler or a gRPC method (not an idle keep-alive read). */
const REQUEST_PATH = /^(net\/http\.serverHandler\.ServeHTTP|net\/http\.HandlerFunc\.ServeHTTP|net\/http\.\(\*ServeMux\)\.ServeHTTP|google\.golang\.org\/grpc\.\(\*Server\)\.(processUnaryRPC|processStreamingRPC))$/;
/**
 * Handlers that serve observers, not users: pprof (our own capture shows up in the profiles it takes),
 * metrics scrapes and expvar. Their goroutines are not requests in flight.
 */
const OBSERVER = /^(net\/http\/pprof\.|runtime\/pprof\.|github\.com\/prometheus\/client_golang\/prometheus\/promhttp\.HandlerFor\w*|expvar\.)/;
const observerCache = new Map<string, boolean>();

/** A stack of an observer handler (pprof, metrics scrape, expvar): our own capture, not the service's work. */
export const isObserver = (frames: readonly string[]) => frames.some((f) => cachedTest(observerCache, OBSERVER, f));

export const isRequestPath = (frames: readonly string[]) => frames.some((f) => cachedTest(requestCache, REQUEST_PATH, f)) && !isObserver(frames);

const requestCache = new Map<string, boolean>();
const outboundCache = new Map<string, boolean>();
function cachedTest(cache: Map<string, boolean>, re: RegExp, name: string): boolean {
  let v = cache.get(name);
  if (v === undefined) cache.set(name, (v = re.test(name)));
  return v;
}

/** Waiting on another service: HTTP/gRPC clients, database/sql and common datastore drivers. */
const OUTBOUND = /^(net\/http\.\(\*(Client|Transport|persistConn)\)\.\w+|google\.golang\.org\/grpc\.(invoke|\(\*ClientConn\)\.Invoke|\(\*clientStream\)\.\w+)|database\/sql\.\(\*(DB|Conn|Tx|Stmt|Rows|Row)\)\.\w+|github\.com\/(redis\/go-redis|go-redis\/redis|jackc\/pgx|lib\/pq|go-sql-driver\/mysql|segmentio\/kafka-go|IBM\/sarama|Shopify\/sarama|aws\/aws-sdk-go(-v2)?|bradfitz\/gomemcache)\/.*|go\.mongodb\.org\/mongo-driver\/.*|net\.\(\*Dialer\)\.DialContext|net\.\(\*Resolver\)\.\w+)$/;
export const isOutboundCall = (frames: readonly string[]) => frames.some((f) => cachedTest(outboundCache, OUTBOUND, f));

/** The function a goroutine was started with (root frame below runtime.goexit). */
export function goroutineStart(frames: readonly string[]): string {
  for (const f of frames) if (f !== 'runtime.goexit') return f;
  return frames[0] ?? '?';
}

/** The first application frame from the leaf: where to point a user. */
export function firstAppFrame(frames: readonly string[]): string | undefined {
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i];
    if (!isRuntimeOrStd(f)) return f;
  }
  return undefined;
}

const STD = /^(runtime|sync|internal|syscall|net|time|io|bufio|os|crypto|encoding|bytes|strings|strconv|fmt|reflect|sort|math|compress|context|unicode|hash|errors|container|log|regexp|mime|path|slices|maps|iter|vendor)[./]/;
export const isRuntimeOrStd = (f: string) => STD.test(f) || f.startsWith('golang.org/x/') || f.startsWith('google.golang.org/grpc');
