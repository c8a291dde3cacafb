const MS_PER_SECOND = 1000;

/**
 * Events per second over the last `windowMs`, counted in buckets of `bucketMs` (a fixed ring: memory does
 * not grow with the event rate). A rate over the whole run would hide a sync that has slowed down, or
 * sped up once a slow kind was done; the window follows what happens now.
 */
export class RateWindow {
  private readonly counts: number[];
  /** The bucket number (time / bucketMs) each slot counts, so a slot left over from an earlier lap is recognised. */
  private readonly slots: number[];

  /** `startedAt`: when counting began (the rate of the first seconds is over the time since, not the whole window). */
  constructor(
    private readonly startedAt: number,
    windowMs: number,
    private readonly bucketMs: number,
  ) {
    const size = Math.max(1, Math.ceil(windowMs / bucketMs));
    this.counts = new Array<number>(size).fill(0);
    this.slots = new Array<number>(size).fill(Number.NEGATIVE_INFINITY);
  }

  add(count: number, now: number): void {
    const bucket = Math.floor(now / this.bucketMs);
    const slot = bucket % this.counts.length;
    if (this.slots[slot] !== bucket) {
      this.slots[slot] = bucket;
      this.counts[slot] = 0;
    }
    this.counts[slot]! += count;
  }

  perSecond(now: number): number {
    const bucket = Math.floor(now / this.bucketMs);
    const oldest = bucket - this.counts.length + 1;
    let sum = 0;
    for (let i = 0; i < this.counts.length; i++) if (this.slots[i]! >= oldest && this.slots[i]! <= bucket) sum += this.counts[i]!;
    // The window's buckets cover from the oldest one's start; never before counting began, and at least one
    // bucket (a rate over a few milliseconds says nothing).
    const spanMs = Math.max(this.bucketMs, now - Math.max(this.startedAt, oldest * this.bucketMs));
    return (sum * MS_PER_SECOND) / spanMs;
  }
}
