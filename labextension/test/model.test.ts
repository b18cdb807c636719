import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { NbtrackClient, Requester, SERVER_EXTENSION_MISSING } from '../src/api';
import { RunListModel } from '../src/model';

/** A requester that answers every request with `status` and `body`, as `content-type`. */
function answering(
  status: number,
  body: string,
  contentType = 'application/json'
): Requester {
  return () =>
    Promise.resolve(
      new Response(body, { status, headers: { 'Content-Type': contentType } })
    );
}

describe('RunListModel', () => {
  it('tells how to enable the server extension when the API is not there', async () => {
    // Given a Jupyter server without nbtrack's server extension (its own HTML 404 page)
    const model = new RunListModel(
      new NbtrackClient(
        answering(404, '<html>404 : Not Found</html>', 'text/html')
      )
    );
    // When the sidebar loads its runs
    await model.refresh();
    // Then it says what is wrong and what to run, and lists nothing
    assert.equal(model.error, SERVER_EXTENSION_MISSING);
    assert.match(
      model.error,
      /server extension is not enabled.*pip install "nbtrack\[lab\]".*restart/
    );
    assert.deepEqual(model.runs, []);
    assert.equal(model.loading, false);
    model.stop();
  });

  it("shows nbtrack's own 404 message as it is", async () => {
    const model = new RunListModel(
      new NbtrackClient(
        answering(404, JSON.stringify({ message: 'no such experiment' }))
      )
    );
    await model.refresh();
    assert.equal(model.error, 'no such experiment');
    model.stop();
  });

  it('clears the message once the API answers', async () => {
    let up = false;
    const model = new RunListModel(
      new NbtrackClient((path, init) =>
        up
          ? answering(
              200,
              JSON.stringify({ runs: [], next_page_token: null, store: '/s' })
            )(path, init)
          : answering(404, 'Not Found', 'text/plain')(path, init)
      )
    );
    await model.refresh();
    assert.equal(model.error, SERVER_EXTENSION_MISSING);
    up = true;
    await model.refresh();
    assert.equal(model.error, '');
    assert.equal(model.store, '/s');
    model.stop();
  });
});
