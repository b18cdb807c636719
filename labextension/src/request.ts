/** The API requester inside JupyterLab: the server's base URL, token and XSRF handling. */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { Requester } from './api';

export const API_NAMESPACE = 'nbtrack/api';

export function makeRequester(
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Requester {
  const base = URLExt.join(settings.baseUrl, API_NAMESPACE);
  return (path, init) =>
    ServerConnection.makeRequest(`${base}/${path}`, init, settings);
}

/** The absolute URL of an API path (for download links). */
export function apiUrl(
  path: string,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): string {
  return `${URLExt.join(settings.baseUrl, API_NAMESPACE)}/${path}`;
}
