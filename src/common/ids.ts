import { randomFillSync } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const RANDOM_BYTES = 10;
/**
 * Random bytes are drawn from the system's generator this many at a time and handed out in slices (as
 * the uuid package does): a call into the generator per id showed up at 1 s of the agent's CPU in a
 * thousand-account sync, where every feed's snapshot gets an id. The bytes are the same CSPRNG output.
 */
const RANDOM_POOL_BYTES = 4096;
const randomPool = Buffer.allocUnsafe(RANDOM_POOL_BYTES);
let randomPoolOffset = RANDOM_POOL_BYTES;

function randomSlice(bytes: number): Buffer {
  if (randomPoolOffset + bytes > RANDOM_POOL_BYTES) {
    randomFillSync(randomPool);
    randomPoolOffset = 0;
  }
  const slice = randomPool.subarray(randomPoolOffset, randomPoolOffset + bytes);
  randomPoolOffset += bytes;
  return slice;
}

/**
 * A ULID: 48 bits of milliseconds and 80 random bits in Crockford base 32, so ids sort by creation
 * time (operations and tasks are listed in that order).
 */
export function ulid(now: number = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < TIME_CHARS; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomSlice(RANDOM_BYTES);
  let rand = '';
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      rand += CROCKFORD[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return time + rand;
}
