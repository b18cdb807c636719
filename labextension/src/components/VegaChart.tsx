/**
 * A vega-lite chart made on the server (nbtrack.query.comparecharts: the compare widget's very
 * specs), drawn with vega-embed bundled from npm and loaded on first use (no CDN).
 */
import * as React from 'react';

/** nbtrack.query.comparecharts.HALO: the style of the outline under labels drawn on lines. */
const HALO = 'nbtrack-halo';

/** Vega's colours from the JupyterLab theme, so a chart reads in the dark theme too. */
function themeConfig(el: HTMLElement): Record<string, unknown> {
  const css = getComputedStyle(el);
  const v = (name: string, fallback: string): string =>
    css.getPropertyValue(name).trim() || fallback;
  const text = v('--jp-ui-font-color1', '#333');
  const muted = v('--jp-ui-font-color2', '#666');
  const grid = v('--jp-border-color2', '#ddd');
  const font = v('--jp-ui-font-family', 'sans-serif');
  return {
    background: 'transparent',
    font,
    title: { color: text, subtitleColor: muted },
    axis: {
      labelColor: muted,
      titleColor: text,
      gridColor: grid,
      domainColor: grid,
      tickColor: grid
    },
    legend: { labelColor: muted, titleColor: text },
    view: { stroke: grid },
    text: { color: muted }
  };
}

/** The spec's own config over the theme's; its label halo in the view's background colour. */
function withTheme(
  spec: Record<string, unknown>,
  el: HTMLElement
): Record<string, unknown> {
  const own = (spec.config ?? {}) as { style?: Record<string, object> };
  const halo = own.style?.[HALO];
  const background =
    getComputedStyle(el).getPropertyValue('--jp-layout-color0').trim() ||
    '#fff';
  return {
    ...spec,
    config: {
      ...themeConfig(el),
      ...own,
      ...(halo && {
        style: { ...own.style, [HALO]: { ...halo, stroke: background } }
      })
    }
  };
}

export function VegaChart(props: {
  spec: Record<string, unknown>;
  label: string;
}): JSX.Element {
  const box = React.useRef<HTMLDivElement>(null);
  const [error, setError] = React.useState('');
  React.useEffect(() => {
    const el = box.current;
    if (!el) {
      return;
    }
    let live = true;
    let finalize: (() => void) | null = null;
    import('vega-embed')
      .then(({ default: embed }) => {
        if (!live) {
          return;
        }
        return embed(el, withTheme(props.spec, el), {
          renderer: 'svg',
          actions: false,
          tooltip: {
            theme:
              document.body.dataset.jpThemeLight === 'false' ? 'dark' : 'light'
          }
        }).then(result => {
          if (live) {
            finalize = () => result.finalize();
          } else {
            result.finalize();
          }
        });
      })
      .catch(e => live && setError(String((e as Error).message ?? e)));
    return () => {
      live = false;
      finalize?.();
    };
  }, [props.spec]);
  return (
    <figure className="nbtrack-vega" aria-label={props.label}>
      <div ref={box} className="nbtrack-vega-chart" />
      {error && (
        <div className="nbtrack-error" role="alert">
          {error}
        </div>
      )}
    </figure>
  );
}
