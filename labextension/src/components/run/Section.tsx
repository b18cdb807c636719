/** The building blocks of the run view's sections: a titled section and a key/value table. */
import * as React from 'react';

export function Section(props: {
  title: string;
  children: React.ReactNode;
  className?: string;
}): JSX.Element {
  return (
    <section className={`nbtrack-section ${props.className ?? ''}`}>
      <h2>{props.title}</h2>
      {props.children}
    </section>
  );
}

/** Keys in order with their values as text (objects as JSON), or `empty` when there are none. */
export function KeyValues(props: {
  items: Record<string, unknown>;
  empty: string;
}): JSX.Element {
  const keys = Object.keys(props.items);
  if (!keys.length) {
    return <p className="nbtrack-muted">{props.empty}</p>;
  }
  return (
    <table className="nbtrack-kv">
      <tbody>
        {keys.sort().map(k => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>
              {typeof props.items[k] === 'object'
                ? JSON.stringify(props.items[k])
                : String(props.items[k])}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
