// scripts/dockerfile-steps.mjs, the runner of the Dockerfile's build steps on CI: what it does with the
// instructions it knows, and that it refuses what it does not know instead of skipping it.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerfileError, isIgnored, parseDockerfile, parseDockerignore, runDockerfile, substitute } from '../../scripts/dockerfile-steps.mjs';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A build context with these files (path → content) and a Dockerfile. */
function context(dockerfile: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'scale-agent-dockerfile-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** A new output directory, outside every context (`COPY . .` must not copy the stages into themselves). */
function outDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'scale-agent-dockerfile-out-'));
  dirs.push(dir);
  return join(dir, 'stages');
}

const quiet = { log: () => undefined };

describe('dockerfile-steps', () => {
  test('parses continuation lines and comments, and refuses an instruction it does not know with its line', () => {
    const parsed = parseDockerfile('# syntax=docker/dockerfile:1\nFROM node:20 AS a\nRUN echo one \\\n  # a comment inside\n  && echo two\n');
    assert.deepEqual(parsed, [
      { line: 2, keyword: 'FROM', args: 'node:20 AS a' },
      { line: 3, keyword: 'RUN', args: 'echo one && echo two' },
    ]);
    assert.throws(
      () => parseDockerfile('FROM node:20\nHEALTHCHECK CMD true\n'),
      (err: Error) => err instanceof DockerfileError && /line 2: HEALTHCHECK is not supported/.test(err.message),
    );
  });

  test('substitutes $NAME, ${NAME}, ${NAME:-default} and ${NAME:+alternative}', () => {
    const vars = new Map([['V', '20.1']]);
    assert.equal(substitute('node:${V}-slim $V ${U:-none} ${V:+set} \\$V', vars), 'node:20.1-slim 20.1 none set $V');
  });

  test('.dockerignore: a pattern excludes what it matches and everything under it; ** spans directories', () => {
    const patterns = parseDockerignore('# comment\nnode_modules\n/dist/\n**/*.log\nsrc/gen\n');
    assert.ok(isIgnored(patterns, 'node_modules/x/index.js'));
    assert.ok(isIgnored(patterns, 'dist'));
    assert.ok(isIgnored(patterns, 'a.log') && isIgnored(patterns, 'deep/er/b.log'));
    assert.ok(isIgnored(patterns, 'src/gen/x.ts'));
    assert.ok(!isIgnored(patterns, 'src/main.ts') && !isIgnored(patterns, 'lib/node_modules.txt'));
    assert.throws(() => parseDockerignore('dist\n!dist/keep\n'), /exception patterns/);
  });

  test('runs stages in directories: ARG and ENV reach RUN, RUN works in the mapped WORKDIR, COPY honours .dockerignore and --from', async () => {
    const dir = context(
      [
        'ARG GREETING=hello',
        'FROM node:' + process.versions.node.split('.')[0] + ' AS first',
        'ARG GREETING',
        'ENV WHO="the runner"',
        'WORKDIR /work',
        'COPY . .',
        'COPY .hidden ./copied/',
        'RUN echo "$GREETING $WHO" > out.txt && test ! -e node_modules && test -e src/a.ts && test -e copied/.hidden',
        'FROM scratch AS final',
        'COPY --from=first /work/out.txt /app/',
        'USER 10001:10001',
        'ENTRYPOINT ["node", "/app/main.js"]',
        'CMD ["--help"]',
        '',
      ].join('\n'),
      { '.dockerignore': 'node_modules\n', '.hidden': 'h', 'src/a.ts': 'x', 'node_modules/dep/index.js': 'y' },
    );
    const { image, stages } = await runDockerfile({ context: dir, out: outDir(), buildArgs: { GREETING: 'hi' }, ...quiet });
    assert.equal(readFileSync(join(stages.first!.root, 'work', 'out.txt'), 'utf8'), 'hi the runner\n');
    assert.equal(readFileSync(join(image.root, 'app', 'out.txt'), 'utf8'), 'hi the runner\n');
    assert.deepEqual(
      { user: image.user, entrypoint: image.entrypoint, cmd: image.cmd, workdir: image.workdir },
      { user: '10001:10001', entrypoint: ['node', '/app/main.js'], cmd: ['--help'], workdir: '/' },
    );
    assert.ok(!existsSync(join(image.root, 'work')), 'a stage starts empty');
  });

  test('a failing RUN fails the build with its output; COPY --chown sets the owner (as root)', async () => {
    const dir = context('FROM scratch\nWORKDIR /w\nCOPY --chown=10001:10002 f /data/\nRUN echo broken >&2; exit 3\n', { f: 'x' });
    const out = outDir();
    await assert.rejects(runDockerfile({ context: dir, out, ...quiet }), (err: Error) => /line 4: RUN failed \(exit 3\)[\s\S]*broken/.test(err.message));
    if (process.getuid?.() === 0) {
      const stat = statSync(join(out, 'stage-0', 'data', 'f'));
      assert.deepEqual([stat.uid, stat.gid], [10001, 10002]);
    }
  });

  test('refuses what it cannot do faithfully: RUN as a non-root user, COPY wildcards, a base image of another Node.js major, unknown build args', async () => {
    const otherMajor = Number(process.versions.node.split('.')[0]) + 1;
    const cases: Array<[string, RegExp, Record<string, string>?]> = [
      ['FROM scratch\nUSER 10001\nRUN true\n', /line 3: RUN after a non-root USER/],
      ['FROM scratch\nCOPY *.json /\n', /line 2: wildcards/],
      [`FROM node:${otherMajor}-slim\n`, /line 1: node:\d+-slim cannot be stood in for/],
      ['FROM scratch\n', /build arguments not declared by any ARG: NOPE/, { NOPE: '1' }],
    ];
    for (const [dockerfile, error, buildArgs] of cases) {
      const dir = context(dockerfile);
      await assert.rejects(runDockerfile({ context: dir, out: outDir(), buildArgs, ...quiet }), error, dockerfile);
    }
  });
});
