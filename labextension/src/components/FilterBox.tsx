/**
 * The filter box of the sidebar and the Runs view: the filter language in a field that grows
 * rather than cutting what is typed, completion of the stored keys after `params.`, `metrics.`,
 * `tags.` and `attributes.`, and the server's error for a bad filter under it (its line in a
 * monospace block with the caret under the bad token). One component, so both views behave alike.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import { searchIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  errorParts,
  IFilterKeys,
  IKeyContext,
  insertKey,
  keyContext,
  matchingKeys
} from '../filter';

export interface IFilterBoxProps {
  /** The filter applied now (the field starts with it). */
  filter: string;
  /** The server's message for a bad filter; '' when the filter is good. */
  error: string;
  trans: TranslationBundle;
  onApply: (filter: string) => void;
  /** The keys to complete (cached by the caller: asked on each focus). */
  keys?: () => Promise<IFilterKeys>;
  className?: string;
}

let boxes = 0;

export function FilterBox(props: IFilterBoxProps): JSX.Element {
  const { trans, error } = props;
  const [draft, setDraft] = React.useState(props.filter);
  const [caret, setCaret] = React.useState(props.filter.length);
  const [keys, setKeys] = React.useState<IFilterKeys | null>(null);
  const [active, setActive] = React.useState(0);
  const [dismissed, setDismissed] = React.useState(false);
  const [focused, setFocused] = React.useState(false);
  const field = React.useRef<HTMLTextAreaElement>(null);
  const form = React.useRef<HTMLFormElement>(null);
  const nextCaret = React.useRef<number | null>(null);
  const id = React.useMemo(() => `nbtrack-filter-${++boxes}`, []);

  const context = focused && !dismissed ? keyContext(draft, caret) : null;
  const items = context && keys ? matchingKeys(keys, context) : [];
  const open = items.length > 0;
  const current = open ? Math.min(active, items.length - 1) : -1;

  const loadKeys = (): void => {
    props.keys?.().then(setKeys, () => undefined); // no completion without them
  };

  React.useLayoutEffect(() => {
    const el = field.current;
    if (!el) {
      return;
    }
    el.style.height = 'auto'; // as tall as the text, wrapped: nothing typed is cut
    el.style.height = `${el.scrollHeight + el.offsetHeight - el.clientHeight}px`;
    if (nextCaret.current !== null) {
      el.setSelectionRange(nextCaret.current, nextCaret.current);
      nextCaret.current = null;
    }
  }, [draft]);

  React.useEffect(() => {
    document
      .getElementById(`${id}-option-${current}`)
      ?.scrollIntoView({ block: 'nearest' });
  }, [id, current]);

  const choose = (ctx: IKeyContext, key: string): void => {
    const next = insertKey(draft, ctx, key);
    nextCaret.current = next.caret;
    setDraft(next.text);
    setCaret(next.caret);
    setActive(0);
  };

  const onKeyDown = (e: React.KeyboardEvent<HTMLTextAreaElement>): void => {
    if (e.nativeEvent.isComposing) {
      return;
    }
    if (open && context) {
      const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1 };
      if (e.key in moves) {
        e.preventDefault();
        setActive((current + moves[e.key] + items.length) % items.length);
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        choose(context, items[current]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        setDismissed(true);
        return;
      }
    }
    if (e.key === 'Enter') {
      e.preventDefault(); // one line: Enter applies
      form.current?.requestSubmit();
    }
  };

  const track = (el: HTMLTextAreaElement): void =>
    setCaret(el.selectionStart ?? el.value.length);

  return (
    <>
      <form
        ref={form}
        className={`nbtrack-filter ${props.className ?? ''}`.trim()}
        role="search"
        onSubmit={e => {
          e.preventDefault();
          setDismissed(true);
          props.onApply(draft);
        }}
      >
        <div className="nbtrack-filter-field">
          <textarea
            ref={field}
            rows={1}
            spellCheck={false}
            autoComplete="off"
            className="jp-mod-styled nbtrack-filter-input"
            value={draft}
            placeholder={trans.__('Name or params.lr > 0.1')}
            title={trans.__(
              "Words search run names: sgd, 'sgd alpha'. Conditions: metrics.acc > 0.9, params.model = 'rf', tags.owner LIKE 'an%%', attributes.status = 'FINISHED', MIN(metrics.loss) < 0.1; join them with AND, OR, NOT and parentheses (sgd AND metrics.acc > 0.9). After params., metrics., tags. or attributes. the stored keys are offered: arrows to pick, Enter or Tab to insert, Escape to close. Enter applies the filter."
            )}
            aria-label={trans.__('Filter runs')}
            aria-invalid={error ? true : undefined}
            role="combobox"
            aria-autocomplete="list"
            aria-expanded={open}
            aria-controls={`${id}-keys`}
            aria-activedescendant={open ? `${id}-option-${current}` : undefined}
            onChange={e => {
              setDraft(e.target.value.replace(/[\r\n]+/g, ' '));
              track(e.target);
              setDismissed(false);
              setActive(0);
            }}
            onSelect={e => track(e.currentTarget)}
            onKeyDown={onKeyDown}
            onFocus={() => {
              setFocused(true);
              loadKeys();
            }}
            onBlur={() => setFocused(false)}
          />
          {open && context && (
            <ul
              className="nbtrack-filter-keys"
              id={`${id}-keys`}
              role="listbox"
              aria-label={trans.__('Keys')}
            >
              {items.map((key, i) => (
                <li
                  key={key}
                  id={`${id}-option-${i}`}
                  role="option"
                  aria-selected={i === current}
                  className={
                    i === current
                      ? 'nbtrack-filter-key nbtrack-filter-key-active'
                      : 'nbtrack-filter-key'
                  }
                  title={`${context.group}.${key}`}
                  onMouseDown={e => {
                    e.preventDefault(); // the field keeps the focus
                    choose(context, key);
                  }}
                  onMouseEnter={() => setActive(i)}
                >
                  {key}
                </li>
              ))}
            </ul>
          )}
        </div>
        <button
          className="jp-mod-styled jp-mod-accept nbtrack-filter-apply"
          type="submit"
          aria-label={trans.__('Apply the filter')}
          title={trans.__('Apply the filter (Enter)')}
        >
          <searchIcon.react tag="span" className="nbtrack-filter-apply-icon" />
        </button>
      </form>
      {error && <FilterError message={error} />}
    </>
  );
}

/**
 * A bad filter's message: the reason, the filter's line in monospace with the bad token marked
 * and the caret under it (after an invisible copy of the text before the token, so it lines up
 * whatever the characters' widths), then the hint. Another message is shown as it is.
 */
export function FilterError(props: { message: string }): JSX.Element {
  const parts = errorParts(props.message);
  const code = React.useRef<HTMLPreElement>(null);
  React.useLayoutEffect(() => {
    const pre = code.current;
    const mark = pre?.querySelector<HTMLElement>('.nbtrack-filter-caret');
    if (pre && mark) {
      // a long filter scrolls sideways: the bad token in view
      const left = mark.offsetLeft - pre.offsetLeft;
      if (left + mark.offsetWidth > pre.clientWidth) {
        pre.scrollLeft = left - pre.clientWidth / 3;
      }
    }
  }, [props.message]);
  if (!parts) {
    return (
      <div className="nbtrack-filter-error" role="alert">
        {props.message}
      </div>
    );
  }
  const { line, start, length } = parts;
  return (
    <div className="nbtrack-filter-error" role="alert">
      <div className="nbtrack-filter-error-reason">{parts.reason}</div>
      <pre className="nbtrack-filter-error-code" ref={code}>
        <span className="nbtrack-filter-error-line">
          {line.slice(0, start)}
          <span className="nbtrack-filter-error-token">
            {line.slice(start, start + length)}
          </span>
          {line.slice(start + length)}
        </span>
        {'\n'}
        <span className="nbtrack-filter-error-carets" aria-hidden="true">
          <span className="nbtrack-filter-error-pad">
            {line.slice(0, start)}
          </span>
          <span className="nbtrack-filter-caret">
            {'^'.repeat(Math.max(1, length))}
          </span>
        </span>
      </pre>
      {parts.hint && (
        <div className="nbtrack-filter-error-hint">{parts.hint}</div>
      )}
    </div>
  );
}
