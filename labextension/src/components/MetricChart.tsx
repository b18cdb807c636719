/** A small line chart of one metric's history in plain SVG (no chart library, nothing fetched). */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { NbtrackClient } from '../api';
import { chartGeometry } from '../chart';
import { formatMetric } from '../format';
import type { IMetricSeries } from '../tokens';

const WIDTH = 280;
const HEIGHT = 90;

export function MetricChart(props: {
  client: NbtrackClient;
  runId: string;
  metric: string;
  maxPoints: number;
  trans: TranslationBundle;
}): JSX.Element {
  const [series, setSeries] = React.useState<IMetricSeries | null>(null);
  const [error, setError] = React.useState('');
  const { client, runId, metric, maxPoints } = props;
  React.useEffect(() => {
    let live = true;
    client
      .metric(runId, metric, maxPoints)
      .then(s => live && setSeries(s))
      .catch(e => live && setError(String(e.message ?? e)));
    return () => {
      live = false;
    };
  }, [client, runId, metric, maxPoints]);

  if (error) {
    return <div className="nbtrack-error">{error}</div>;
  }
  if (!series) {
    return <div className="nbtrack-chart nbtrack-loading">…</div>;
  }
  const geo = chartGeometry(series.points, WIDTH, HEIGHT);
  const { trans } = props;
  if (geo.dots.length === 1 && series.total === 1) {
    // one value is a number, not a chart
    const only = geo.dots[0];
    return (
      <figure className="nbtrack-chart nbtrack-chart-single">
        <span className="nbtrack-chart-value">{formatMetric(only.value)}</span>
        <figcaption className="nbtrack-chart-caption">
          {trans.__('one value, at step %1', only.step)}
        </figcaption>
      </figure>
    );
  }
  const last = geo.dots.length ? geo.dots[geo.dots.length - 1].value : null;
  // what the frame cannot say: named, so the bottom corners do not read as start and end
  const range = trans.__(
    'min %1 · max %2 · last %3',
    formatMetric(geo.yMin),
    formatMetric(geo.yMax),
    formatMetric(last)
  );
  const label = trans.__(
    '%1: %2 points, %3',
    props.metric,
    series.total,
    range
  );
  return (
    <figure className="nbtrack-chart">
      <svg
        width={WIDTH}
        height={HEIGHT}
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={label}
      >
        <title>{label}</title>
        <rect className="nbtrack-chart-frame" width={WIDTH} height={HEIGHT} />
        {geo.path && <path className="nbtrack-chart-line" d={geo.path} />}
        {geo.dots.length <= 40 &&
          geo.dots.map(d => (
            <circle
              key={d.step}
              className="nbtrack-chart-dot"
              cx={d.x}
              cy={d.y}
              r={2.5}
            >
              <title>{`step ${d.step}: ${formatMetric(d.value)}`}</title>
            </circle>
          ))}
      </svg>
      <figcaption className="nbtrack-chart-caption">
        <span className="nbtrack-chart-range">{range}</span>
        <span>
          {trans.__('steps %1–%2', geo.xMin, geo.xMax)}
          {series.downsampled
            ? ` · ${trans.__('%1 of %2 points', series.points.length, series.total)}`
            : ''}
        </span>
      </figcaption>
    </figure>
  );
}
