import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isScaleAgentError } from '../common/errors.ts';
import { decodeWatchStream, parseWatchLine, type WatchEvent } from './watch-event.ts';

async function decode(chunks: (Buffer | string)[]): Promise<WatchEvent[]> {
  async function* source() {
    for (const c of chunks) yield c;
  }
  const out: WatchEvent[] = [];
  for await (const e of decodeWatchStream(source())) out.push(e);
  return out;
}

const events = [
  { type: 'ADDED', object: { metadata: { name: 'ünïcödé-😀', resourceVersion: '1' } } },
  { type: 'MODIFIED', object: { metadata: { name: 'b', resourceVersion: '2' } } },
  { type: 'BOOKMARK', object: { metadata: { resourceVersion: '3' } } },
  { type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } },
];
const stream = Buffer.from(events.map((e) => JSON.stringify(e) + '\n').join(''));

describe('decodeWatchStream', () => {
  it('decodes the same events whatever the chunk boundaries', async () => {
    for (let size = 1; size <= stream.length; size += size < 8 ? 1 : 13) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
      assert.deepEqual(await decode(chunks), events, `chunk size ${size}`);
    }
  });

  it('accepts CRLF, blank lines and a final line without a newline', async () => {
    const text = `\r\n${JSON.stringify(events[0])}\r\n\n${JSON.stringify(events[1])}`;
    assert.deepEqual(await decode([text]), events.slice(0, 2));
  });

  it('fails with a typed error on a garbage line, after the good ones', async () => {
    const seen: WatchEvent[] = [];
    await assert.rejects(
      (async () => {
        async function* source() {
          yield JSON.stringify(events[0]) + '\n<html>oops</html>\n';
        }
        for await (const e of decodeWatchStream(source())) seen.push(e);
      })(),
      (err: unknown) =>
        isScaleAgentError(err, 'KUBE_TRANSPORT_ERROR') && err.details.reason === 'MalformedWatchEvent' && err.details.line === '<html>oops</html>',
    );
    assert.equal(seen.length, 1);
  });

  it('fails on a stream cut mid-line', async () => {
    await assert.rejects(decode([JSON.stringify(events[0]).slice(0, 20)]), (err: unknown) => isScaleAgentError(err, 'KUBE_TRANSPORT_ERROR'));
  });
});

describe('parseWatchLine', () => {
  it('rejects lines that are JSON but not events', () => {
    for (const line of ['null', '42', '"x"', '{}', '{"type":"ADDED"}', '{"type":"WHAT","object":{}}', '{"type":"ADDED","object":null}']) {
      assert.throws(
        () => parseWatchLine(line),
        (err: unknown) => isScaleAgentError(err, 'KUBE_TRANSPORT_ERROR'),
        line,
      );
    }
  });
});
