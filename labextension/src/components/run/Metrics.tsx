/** The run's metrics, the user's first and system ones last, each with its latest value and chart. */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { NbtrackClient } from '../../api';
import { formatMetric } from '../../format';
import type { IRunDetail } from '../../tokens';
import { MetricChart } from '../MetricChart';
import { Section } from './Section';

export function Metrics(props: {
  client: NbtrackClient;
  run: IRunDetail;
  chartPoints: number;
  trans: TranslationBundle;
}): JSX.Element {
  const { client, run, trans } = props;
  const keys = Object.keys(run.metric_summary).sort(
    (a, b) =>
      Number(a.startsWith('system/')) - Number(b.startsWith('system/')) ||
      a.localeCompare(b)
  );
  return (
    <Section title={trans.__('Metrics')}>
      {keys.length ? (
        <div className="nbtrack-metrics">
          {keys.map(k => (
            <div className="nbtrack-metric-card" key={k}>
              <div className="nbtrack-metric-title">
                <span className="nbtrack-metric-key">{k}</span>
                <span>{formatMetric(run.metric_summary[k].latest)}</span>
              </div>
              <MetricChart
                client={client}
                runId={run.id}
                metric={k}
                maxPoints={props.chartPoints}
                trans={trans}
              />
            </div>
          ))}
        </div>
      ) : (
        <p className="nbtrack-muted">{trans.__('No metrics logged')}</p>
      )}
    </Section>
  );
}
