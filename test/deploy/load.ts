/** A client that keeps sending inference requests until stopped, recording every answer. */

export interface Answer {
  status: number;
  version: string | null;
  at: number;
  ms: number;
}

export interface LoadClient {
  answers: Answer[];
  /** Waits for at least `n` more answers. */
  more(n: number): Promise<void>;
  stop(): Promise<Answer[]>;
}

/** Runs `concurrency` loops POSTing `body()` to `url`, each waiting `pauseMs` between calls. */
export function startLoad(url: string, body: () => unknown, concurrency = 3, pauseMs = 0): LoadClient {
  const answers: Answer[] = [];
  let running = true;
  const loop = async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body()) });
        const text = await res.text();
        let version: string | null = res.headers.get('x-model-version');
        if (version === null) {
          try {
            version = (JSON.parse(text) as { model_version?: string }).model_version ?? null;
          } catch {}
        }
        answers.push({ status: res.status, version, at: Date.now(), ms: performance.now() - t0 });
      } catch {
        answers.push({ status: 0, version: null, at: Date.now(), ms: performance.now() - t0 });
      }
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    answers,
    async more(n) {
      const target = answers.length + n;
      while (answers.length < target) await new Promise((r) => setTimeout(r, 10));
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      return answers;
    },
  };
}

/** Polls `check` until it returns a value (not undefined) or `ms` pass. */
export async function waitFor<T>(check: () => Promise<T | undefined>, ms = 15_000, what = 'condition'): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
