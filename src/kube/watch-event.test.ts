import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isScaleAgentError } from '../common/errors.ts';
import { SlimItem } from './slim-item.ts';
import { slimWatchLineDecoder } from './slim-list.ts';
import { slimObject } from './slim.ts';
import { Readable } from 'node:stream';
import { parseWatchLine, pumpWatchStream, type WatchEvent, type WatchLineDecoder } from './watch-event.ts';

/** The events of a stream of `chunks` read to its end; `seen` gets each as it is handed over. */
async function decode(chunks: (Buffer | string)[], decodeLine?: WatchLineDecoder, seen: WatchEvent[] = []): Promise<WatchEvent[]> {
  await pumpWatchStream(Readable.from(chunks), undefined, decodeLine, (event) => seen.push(event));
  return seen;
}

const events = [
  { type: 'ADDED', object: { metadata: { name: 'ünïcödé-😀', resourceVersion: '1' } } },
  { type: 'MODIFIED', object: { metadata: { name: 'b', resourceVersion: '2' } } },
  { type: 'BOOKMARK', object: { metadata: { resourceVersion: '3' } } },
  { type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } },
];
const stream = Buffer.from(events.map((e) => JSON.stringify(e) + '\n').join(''));

describe('pumpWatchStream', () => {
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
      decode([JSON.stringify(events[0]) + '\n<html>oops</html>\n'], undefined, seen),
      (err: unknown) =>
        isScaleAgentError(err, 'KUBE_TRANSPORT_ERROR') && err.details.reason === 'MalformedWatchEvent' && err.details.line === '<html>oops</html>',
    );
    assert.equal(seen.length, 1);
  });

  it('reads lines with a line decoder first, and parses whole the lines it declines', async () => {
    const decodeLine = slimWatchLineDecoder({ kind: 'ConfigMap', apiVersion: 'v1' });
    const withManagedFields = { type: 'MODIFIED', object: { metadata: { name: 'c', resourceVersion: '4', managedFields: [{ manager: 'm' }] } } };
    const bytes = Buffer.from([...events, withManagedFields].map((e) => JSON.stringify(e)).join('\n'));
    for (const size of [1, 5, 64, bytes.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      const decoded = await decode(chunks, decodeLine);
      assert.deepEqual(
        decoded.map((e) => e.object instanceof SlimItem),
        [true, true, false, false, true],
        `chunk size ${size}`,
      );
      const expected = [...events, withManagedFields].map((e) =>
        e.type === 'ADDED' || e.type === 'MODIFIED'
          ? { type: e.type, object: slimObject({ kind: 'ConfigMap', apiVersion: 'v1', ...structuredClone(e.object) }) }
          : e,
      );
      assert.deepEqual(JSON.parse(JSON.stringify(decoded)), expected, `chunk size ${size}`);
    }
    // A malformed line still fails with the typed error, after the good ones.
    await assert.rejects(decode([JSON.stringify(events[0]) + '\n<html>oops</html>\n'], decodeLine), (err: unknown) =>
      isScaleAgentError(err, 'KUBE_TRANSPORT_ERROR'),
    );
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
