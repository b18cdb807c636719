/**
 * The banner at the top of a failed run's view: the exception, the line that raised it and its
 * cell, with a button that brings that cell of the run's cell list into view.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { failingCell, runFailure } from '../../reproduce';
import type { ICellRecord, IRunDetail } from '../../tokens';

export function FailureBanner(props: {
  run: IRunDetail;
  trans: TranslationBundle;
  /** Scrolls the run's cell list to `cell` and marks it for a moment. */
  onShowCell: (cell: ICellRecord) => void;
}): JSX.Element | null {
  const { run, trans } = props;
  const failure = runFailure(run);
  if (!failure) {
    return null;
  }
  const cell = failingCell(run);
  const count = failure.execution_count ?? cell?.execution_count ?? null;
  return (
    <div className="nbtrack-failure" role="alert">
      <div className="nbtrack-failure-title">
        <span className="nbtrack-failure-type">{failure.type}</span>
        {failure.message && (
          <span className="nbtrack-failure-message">{failure.message}</span>
        )}
      </div>
      {failure.line && (
        <pre className="nbtrack-failure-line">
          {failure.lineno !== null && (
            <span className="nbtrack-failure-lineno">{failure.lineno}</span>
          )}
          {failure.line}
        </pre>
      )}
      <div className="nbtrack-failure-where">
        <span>
          {count !== null
            ? failure.lineno !== null
              ? trans.__('Raised in cell [%1], line %2', count, failure.lineno)
              : trans.__('Raised in cell [%1]', count)
            : trans.__('The run failed')}
        </span>
        {cell && (
          <button
            className="jp-mod-styled nbtrack-failure-show"
            onClick={() => props.onShowCell(cell)}
          >
            {trans.__('Show the failing cell')}
          </button>
        )}
      </div>
    </div>
  );
}
