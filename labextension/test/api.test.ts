import assert from 'node:assert/strict';
import {
  createServer,
  IncomingMessage,
  Server,
  ServerResponse
} from 'node:http';
import { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';

import {
  ApiError,
  comparePath,
  listPath,
  NbtrackClient,
  Requester,
  SERVER_EXTENSION_MISSING
} from '../src/api';
import type { ReplayEvent } from '../src/tokens';

interface ISeen {
  method: string;
  url: string;
  body: string;
}

type Route = (req: IncomingMessage, res: ServerResponse, body: string) => void;

describe('NbtrackClient against a real HTTP server', () => {
  let server: Server;
  let base = '';
  let seen: ISeen[] = [];
  let route: Route = (_req, res) => res.end('{}');

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', chunk => (body += chunk));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', body });
        route(req, res, body);
      });
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/nbtrack/api`;
  });
  after(() => new Promise<void>(resolve => server.close(() => resolve())));
  beforeEach(() => {
    seen = [];
  });

  const requester: Requester = (path, init) => fetch(`${base}/${path}`, init);
  const json =
    (status: number, payload: unknown): Route =>
    (_req, res) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(payload));
    };

  it('lists runs with the filter, paging and the open notebook in the query', async () => {
    route = json(200, { runs: [], next_page_token: null, store: '/s' });
    const client = new NbtrackClient(requester, () => 'dir/my nb.ipynb');
    const page = await client.listRuns({
      filter: ' metrics.acc > 0.9 ',
      maxResults: 50,
      pageToken: 't1'
    });
    assert.equal(page.store, '/s');
    const url = new URL(seen[0].url, 'http://x');
    assert.equal(url.pathname, '/nbtrack/api/runs');
    assert.equal(url.searchParams.get('filter'), 'metrics.acc > 0.9');
    assert.equal(url.searchParams.get('max_results'), '50');
    assert.equal(url.searchParams.get('page_token'), 't1');
    assert.equal(url.searchParams.get('notebook'), 'dir/my nb.ipynb');
  });

  it('raises the server message of a JSON error', async () => {
    route = json(400, { message: "unknown field 'metrik' at position 0" });
    const client = new NbtrackClient(requester);
    await assert.rejects(
      client.listRuns({ filter: 'metrik.x > 1' }),
      (err: unknown) => {
        assert.ok(err instanceof ApiError);
        assert.equal(err.status, 400);
        assert.equal(err.message, "unknown field 'metrik' at position 0");
        return true;
      }
    );
  });

  it('falls back to the status line when an error is not JSON', async () => {
    route = (_req, res) => {
      res.writeHead(502, 'Bad Gateway');
      res.end('<html>proxy</html>');
    };
    await assert.rejects(
      new NbtrackClient(requester).getRun('abc'),
      /502 Bad Gateway/
    );
  });

  it('says the server extension is missing when Jupyter answers 404 with its own page', async () => {
    route = (_req, res) => {
      res.writeHead(404, 'Not Found', { 'Content-Type': 'text/html' });
      res.end(
        '<!DOCTYPE HTML><html><title>Jupyter Server</title>404 : Not Found</html>'
      );
    };
    const client = new NbtrackClient(requester);
    for (const call of [
      () => client.listRuns(),
      () => client.getRun('abc'),
      () => client.rename('abc', 'x')
    ]) {
      await assert.rejects(call(), (err: unknown) => {
        assert.ok(err instanceof ApiError);
        assert.equal(err.status, 404);
        assert.equal(err.message, SERVER_EXTENSION_MISSING);
        return true;
      });
    }
    assert.match(SERVER_EXTENSION_MISSING, /pip install "nbtrack\[lab\]"/);
    // and, for nbtrack installed with its server extension disabled, how to enable it
    assert.match(
      SERVER_EXTENSION_MISSING,
      /jupyter server extension enable nbtrack\.server/
    );
  });

  it('sends edits as JSON with the right verbs', async () => {
    route = json(200, { id: 'abc', tags: {} });
    const client = new NbtrackClient(requester);
    await client.rename('abc', 'new name');
    await client.setNotes('abc', 'n');
    await client.setTags('abc', { owner: 'ana' });
    await client.deleteTag('abc', 'a/b');
    await client.deleteRun('abc');
    await client.restoreRun('abc');
    assert.deepEqual(
      seen.map(s => `${s.method} ${s.url} ${s.body}`),
      [
        'PATCH /nbtrack/api/runs/abc {"name":"new name"}',
        'PATCH /nbtrack/api/runs/abc {"notes":"n"}',
        'PUT /nbtrack/api/runs/abc/tags {"tags":{"owner":"ana"}}',
        'DELETE /nbtrack/api/runs/abc/tags?key=a%2Fb ',
        'DELETE /nbtrack/api/runs/abc ',
        'POST /nbtrack/api/runs/abc/restore {}'
      ]
    );
  });

  it('asks for a comparison of the runs in the order given, for the open notebook', async () => {
    const payload = {
      runs: [],
      params: [{ key: 'lr', values: ['0.1', '0.2'], same: false }],
      metrics: [],
      tags: [],
      code: []
    };
    route = json(200, payload);
    const client = new NbtrackClient(requester, () => 'nb.ipynb');
    const data = await client.compare(['bb22', 'aa11']);
    assert.deepEqual(data, payload);
    const url = new URL(seen[0].url, 'http://x');
    assert.equal(url.pathname, '/nbtrack/api/compare');
    assert.equal(url.searchParams.get('runs'), 'bb22,aa11');
    assert.equal(url.searchParams.get('notebook'), 'nb.ipynb');
  });

  it('refuses to compare fewer than two runs or something that is not a run id', async () => {
    const client = new NbtrackClient(requester);
    assert.throws(() => comparePath(['abc']), /at least two runs/);
    assert.throws(() => comparePath(['abc', 'x,y']), ApiError);
    await assert.rejects(client.compare(['abc', '../runs']), ApiError);
    assert.equal(seen.length, 0, 'nothing was sent');
  });

  it('raises the server message when a compared run is unknown', async () => {
    route = json(404, { message: "no run with id 'abcdef'" });
    await assert.rejects(
      new NbtrackClient(requester).compare(['abc', 'abcdef']),
      (err: unknown) =>
        err instanceof ApiError &&
        err.status === 404 &&
        err.message === "no run with id 'abcdef'"
    );
  });

  it('refuses a run id that could change the URL path', () => {
    const client = new NbtrackClient(requester);
    assert.throws(
      () => client.artifactPath('../../api/contents', 'x'),
      ApiError
    );
    assert.equal(
      client.artifactPath('ab12', 'plots/a b.png'),
      'runs/ab12/artifact?path=plots%2Fa+b.png'
    );
  });

  it('streams replay progress line by line, also when lines are split across chunks', async () => {
    route = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      res.write('{"event":"progress","done":1,"total":2}\n{"event":"prog');
      setTimeout(() => {
        res.write('ress","done":2,"total":2}\n');
        res.end('{"event":"result","report":{"reproduced":true}}');
      }, 20);
    };
    const events: ReplayEvent[] = [];
    const last = await new NbtrackClient(requester).replay('abc', e =>
      events.push(e)
    );
    assert.deepEqual(
      events.map(e => e.event),
      ['progress', 'progress', 'result']
    );
    assert.deepEqual(last, { event: 'result', report: { reproduced: true } });
  });

  it('asks for the recorded environment and streams its phases before the cells', async () => {
    // Given a server that rebuilds the environment, then replays the one cell
    route = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      res.write(
        '{"event":"env","phase":"install","done":1,"total":3,"text":"six"}\n'
      );
      res.write(
        '{"event":"env","phase":"ready","done":3,"total":3,"text":""}\n'
      );
      res.end(
        '{"event":"progress","done":1,"total":1}\n{"event":"result","report":{"reproduced":true}}\n'
      );
    };
    // When the run is reproduced
    const events: ReplayEvent[] = [];
    await new NbtrackClient(requester).replay(
      'abc',
      e => events.push(e),
      'recorded'
    );
    // Then the request names the recorded environment and every line arrives in order
    assert.equal(seen[0].method, 'POST');
    assert.deepEqual(JSON.parse(seen[0].body), { env: 'recorded' });
    assert.deepEqual(
      events.map(e => (e.event === 'env' ? `env:${e.phase}` : e.event)),
      ['env:install', 'env:ready', 'progress', 'result']
    );
  });

  it('replays in the current environment with an empty body', async () => {
    route = (_req, res) => res.end('{"event":"result","report":{}}\n');
    await new NbtrackClient(requester).replay('abc', () => undefined);
    assert.equal(seen[0].body, '{}');
  });

  it('loads the notebook as recorded from its own path, with the open notebook', async () => {
    route = json(200, {
      cells: [],
      metadata: { nbtrack: { as_recorded: true, run_id: 'abc' } },
      nbformat: 4,
      nbformat_minor: 5
    });
    const nb = await new NbtrackClient(
      requester,
      () => 'a.ipynb'
    ).recordedNotebook('abc');
    assert.equal(nb.metadata.nbtrack?.run_id, 'abc');
    const url = new URL(seen[0].url, 'http://x');
    assert.equal(url.pathname, '/nbtrack/api/runs/abc/notebook-as-recorded');
    assert.equal(url.searchParams.get('notebook'), 'a.ipynb');
  });

  it('names the export file after the server and keeps its bytes', async () => {
    route = (_req, res) => {
      res.writeHead(200, {
        'Content-Disposition': 'attachment; filename="nbtrack-abc.py"'
      });
      res.end('print(1)\n');
    };
    const { blob, filename } = await new NbtrackClient(requester).exportRun(
      'abc',
      'script'
    );
    assert.equal(filename, 'nbtrack-abc.py');
    assert.equal(await blob.text(), 'print(1)\n');
    assert.equal(
      new URL(seen[0].url, 'http://x').searchParams.get('format'),
      'script'
    );
  });

  it('reports an unreachable server as status 0', async () => {
    const down: Requester = () => Promise.reject(new TypeError('fetch failed'));
    await assert.rejects(
      new NbtrackClient(down).experiments(),
      (err: unknown) => {
        assert.ok(err instanceof ApiError && err.status === 0);
        return true;
      }
    );
  });
});

describe('listPath', () => {
  it('leaves out empty parts and repeats experiments', () => {
    assert.equal(listPath({}), 'runs');
    assert.equal(listPath({ filter: '   ' }), 'runs');
    assert.equal(
      listPath({
        experiment: ['a', 'b'],
        orderBy: ['metrics.acc DESC'],
        includeDeleted: true
      }),
      'runs?experiment=a&experiment=b&order_by=metrics.acc+DESC&include_deleted=1'
    );
  });
});
