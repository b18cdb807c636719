/** The nbtrack icon of the sidebar tab, the run and compare tabs and the settings editor. */
import { LabIcon } from '@jupyterlab/ui-components';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
  '<path class="jp-icon3" fill="#616161" d="M3 3h2v16h16v2H3zm4 12l4-5 3 3 5-7 1.6 1.2-6.4 9-3-3-2.8 3.6z"/></svg>';

export const nbtrackIcon = new LabIcon({
  name: 'nbtrack:icon',
  svgstr: ICON_SVG
});
