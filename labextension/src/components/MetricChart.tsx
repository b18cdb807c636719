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
  const label = props.trans.__(
    '%1: %2 points, from %3 to %4',
    props.metric,
    series.total,
    formatMetric(geo.yMin),
    formatMetric(geo.yMax)
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
        <span>{formatMetric(geo.yMin)}</span>
        <span>
          {props.trans.__('steps %1–%2', geo.xMin, geo.xMax)}
          {series.downsampled
            ? ` · ${props.trans.__('%1 of %2 points', series.points.length, series.total)}`
            : ''}
        </span>
        <span>{formatMetric(geo.yMax)}</span>
      </figcaption>
    </figure>
  );
}
