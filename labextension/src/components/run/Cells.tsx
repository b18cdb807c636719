/**
 * The executed cells that built the run's state, in order: a click on one shows it in the open
 * notebook, or says that it is not there any more.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { firstLine } from '../../format';
import type { ICellRecord, IRunDetail } from '../../tokens';
import { Section } from './Section';

export function Cells(props: {
  run: IRunDetail;
  trans: TranslationBundle;
  /** Scrolls the open notebook to a cell; false when the cell is not there any more. */
  onCell: (cell: ICellRecord, run: IRunDetail) => boolean;
}): JSX.Element {
  const { run, trans } = props;
  const [note, setNote] = React.useState('');
  return (
    <Section
      title={trans.__('Executed cells (%1)', run.cells.length)}
      className="nbtrack-cells-section"
    >
      {note && <div className="nbtrack-message">{note}</div>}
      <ol className="nbtrack-cells">
        {run.cells.map(cell => (
          <li
            key={cell.seq}
            data-seq={cell.seq}
            className={`nbtrack-cell ${cell.in_run ? 'nbtrack-cell-in-run' : ''} ${cell.status === 'error' ? 'nbtrack-cell-error' : ''}`}
          >
            <button
              className="nbtrack-cell-head"
              data-cell-id={cell.cell_id ?? ''}
              title={trans.__('Show this cell in the notebook')}
              onClick={() =>
                setNote(
                  props.onCell(cell, run)
                    ? ''
                    : trans.__(
                        'Cell %1 is not in the open notebook any more.',
                        firstLine(cell.source, 40)
                      )
                )
              }
            >
              <span className="nbtrack-cell-count">
                [{cell.execution_count ?? ' '}]
              </span>
              {cell.in_run && (
                <span className="nbtrack-cell-flag">{trans.__('run')}</span>
              )}
              {cell.error && (
                <span className="nbtrack-cell-flag nbtrack-cell-flag-error">
                  {cell.error.type}: {cell.error.message}
                </span>
              )}
            </button>
            <pre className="nbtrack-code">{cell.source}</pre>
          </li>
        ))}
      </ol>
    </Section>
  );
}
