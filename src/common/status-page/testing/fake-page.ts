import { runInNewContext } from 'node:vm';

/**
 * A status page's script run in node's vm against the smallest browser it needs: the page shell's
 * elements, a DOM that builds nodes (never parses HTML), `document.hidden` and its visibilitychange
 * event, fetch answered by the test, and timers the test fires one by one. For the polling loop's
 * behaviour (intervals, pausing while hidden, backing off on errors) without a browser or real time.
 */

class FakeNode {
  readonly children: FakeNode[] = [];
  textContent = '';
  appendChild(child: FakeNode): FakeNode {
    this.children.push(child);
    return child;
  }
}

class FakeElement extends FakeNode {
  className = '';
  title = '';
  hidden = false;
  readonly attributes = new Map<string, string>();
  constructor(readonly tagName: string) {
    super();
  }
  setAttribute(name: string, value: string): void {
    this.attributes.set(name, value);
  }
  replaceChildren(...nodes: FakeNode[]): void {
    this.children.splice(0, this.children.length, ...nodes);
  }
}

class FakeText extends FakeNode {
  constructor(text: string) {
    super();
    this.textContent = text;
  }
}

export interface FakeResponse {
  status: number;
  body: unknown;
}

export class FakePage {
  readonly requests: string[] = [];
  readonly elements = {
    app: new FakeElement('main'),
    meta: new FakeElement('span'),
    subject: new FakeElement('span'),
    banner: new FakeElement('div'),
  };
  private readonly timers = new Map<number, { ms: number; fn: () => void }>();
  private nextTimer = 1;
  private readonly visibilityListeners: Array<() => void> = [];
  private readonly document: { hidden: boolean };

  /** `respond` answers each fetch by path (the page's relative path, e.g. `status/data`). */
  constructor(
    script: string,
    private readonly respond: (path: string) => FakeResponse,
  ) {
    const elements = this.elements;
    const listeners = this.visibilityListeners;
    this.document = {
      hidden: false,
      getElementById: (id: keyof FakePage['elements']) => elements[id],
      createElement: (tag: string) => new FakeElement(tag),
      createTextNode: (text: string) => new FakeText(text),
      addEventListener: (type: string, listener: () => void) => {
        if (type === 'visibilitychange') listeners.push(listener);
      },
    } as { hidden: boolean };
    runInNewContext(script, {
      document: this.document,
      Node: FakeNode,
      fetch: async (path: string) => {
        this.requests.push(path);
        const { status, body } = this.respond(path);
        const text = typeof body === 'string' ? body : JSON.stringify(body);
        return { ok: status >= 200 && status < 300, status, text: async () => text };
      },
      setTimeout: (fn: () => void, ms: number) => {
        const id = this.nextTimer++;
        this.timers.set(id, { ms, fn });
        return id;
      },
      clearTimeout: (id: number) => this.timers.delete(id),
    });
  }

  /** The delays of the timers the page has set and not yet seen fire (the polling loop keeps at most one). */
  get pendingTimers(): number[] {
    return [...this.timers.values()].map((t) => t.ms);
  }

  /** Fires the page's one pending timer and lets what it starts (a load, a render) finish. */
  async fire(): Promise<void> {
    const entries = [...this.timers.entries()];
    if (entries.length !== 1) throw new Error(`expected one pending timer, found ${entries.length}`);
    const [id, timer] = entries[0]!;
    this.timers.delete(id);
    timer.fn();
    await this.settle();
  }

  /** Hides or shows the page, as switching tabs does, and tells the page. */
  async setHidden(hidden: boolean): Promise<void> {
    this.document.hidden = hidden;
    for (const listener of this.visibilityListeners) listener();
    await this.settle();
  }

  /** Lets the promises the page started settle (fetch and its body are answered at once). */
  async settle(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  }
}
