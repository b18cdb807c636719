/** The extension's settings (schema/plugin.json) as a typed object, and keeping it current. */
import type { ISettingRegistry } from '@jupyterlab/settingregistry';

import { PLUGIN_ID } from './tokens';

export interface ISidebarSettings {
  activeRefreshSeconds: number;
  idleRefreshSeconds: number;
  pageSize: number;
  maxKeyMetrics: number;
  keyMetrics: string[];
  /** Points asked of the server per metric chart; it picks them with MinMax-LTTB. */
  chartPoints: number;
}

/** The defaults of schema/plugin.json (a unit test checks that the two agree). */
export const DEFAULT_SETTINGS: ISidebarSettings = {
  activeRefreshSeconds: 2,
  idleRefreshSeconds: 10,
  pageSize: 100,
  maxKeyMetrics: 3,
  keyMetrics: [],
  chartPoints: 1500
};

/** The settings in `composite`, a default for each one missing. */
export function readSettings(
  composite: Partial<Record<keyof ISidebarSettings, unknown>>
): ISidebarSettings {
  return { ...DEFAULT_SETTINGS, ...(composite as Partial<ISidebarSettings>) };
}

/** Calls `apply` with the settings once loaded and again whenever the user changes them. */
export function watchSettings(
  registry: ISettingRegistry,
  apply: (settings: ISidebarSettings) => void
): void {
  const read = (s: ISettingRegistry.ISettings): void =>
    apply(readSettings(s.composite));
  registry
    .load(PLUGIN_ID)
    .then(s => {
      read(s);
      s.changed.connect(read);
    })
    .catch(reason => console.error('nbtrack: cannot load settings', reason));
}
