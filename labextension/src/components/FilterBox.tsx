/**
 * The filter box of the sidebar and the Runs view: the filter language in a search field, and
 * the server's error for a bad filter under it (one component, so both show errors alike).
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

export interface IFilterBoxProps {
  /** The filter applied now (the field starts with it). */
  filter: string;
  /** The server's message for a bad filter; '' when the filter is good. */
  error: string;
  trans: TranslationBundle;
  onApply: (filter: string) => void;
  className?: string;
}

export function FilterBox(props: IFilterBoxProps): JSX.Element {
  const { trans, error } = props;
  const [draft, setDraft] = React.useState(props.filter);
  return (
    <>
      <form
        className={`nbtrack-filter ${props.className ?? ''}`.trim()}
        role="search"
        onSubmit={e => {
          e.preventDefault();
          props.onApply(draft);
        }}
      >
        <input
          className="jp-mod-styled nbtrack-filter-input"
          type="search"
          value={draft}
          placeholder={trans.__(
            "Filter, e.g. metrics.acc > 0.9 and params.lr = '0.01'"
          )}
          aria-label={trans.__('Filter runs')}
          aria-invalid={error ? true : undefined}
          onChange={e => setDraft(e.target.value)}
        />
        <button
          className="jp-mod-styled jp-mod-accept nbtrack-filter-apply"
          type="submit"
        >
          {trans.__('Apply')}
        </button>
      </form>
      {error && (
        <div className="nbtrack-filter-error" role="alert">
          {error}
        </div>
      )}
    </>
  );
}
