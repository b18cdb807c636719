/**
 * How the read-only recorded notebook draws its cells with JupyterLab's own services: code
 * highlighted by the editor's language registry, markdown and outputs by the rendermime registry,
 * untrusted (sanitized HTML, no scripts). Without those services, plain text.
 */
import {
  type IEditorLanguageRegistry,
  jupyterHighlightStyle
} from '@jupyterlab/codemirror';
import { type IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';

import { joinSource } from './reproduce';
import type { INotebookOutput } from './tokens';

export interface ICellRenderer {
  /** Fills `host` with `code` highlighted as `language`. */
  highlight(code: string, language: string, host: HTMLElement): Promise<void>;
  /** Renders a MIME bundle into `host`, untrusted; resolves to what disposes of it. */
  render(
    bundle: Record<string, unknown>,
    host: HTMLElement
  ): Promise<() => void>;
}

/** The MIME bundle an nbformat output is shown as. */
export function outputBundle(output: INotebookOutput): Record<string, unknown> {
  switch (output.output_type) {
    case 'stream':
      return {
        [output.name === 'stderr'
          ? 'application/vnd.jupyter.stderr'
          : 'application/vnd.jupyter.stdout']: joinSource(output.text)
      };
    case 'error':
      return {
        'application/vnd.jupyter.stderr': (output.traceback ?? []).length
          ? (output.traceback ?? []).join('\n')
          : `${output.ename}: ${output.evalue}`
      };
    default: {
      const data: Record<string, unknown> = {};
      for (const [mime, value] of Object.entries(output.data ?? {})) {
        data[mime] = Array.isArray(value) ? value.join('') : value;
      }
      return data;
    }
  }
}

let highlightStyleMounted = false;

/** The highlight classes' CSS, which JupyterLab mounts only once an editor has been shown. */
function mountHighlightStyle(): void {
  const rules = jupyterHighlightStyle.module?.getRules();
  if (highlightStyleMounted || !rules) {
    return;
  }
  const style = document.createElement('style');
  style.dataset.nbtrack = 'highlight';
  style.textContent = rules;
  document.head.appendChild(style);
  highlightStyleMounted = true;
}

export function cellRenderer(
  rendermime: IRenderMimeRegistry | null,
  languages: IEditorLanguageRegistry | null
): ICellRenderer {
  return {
    async highlight(code, language, host) {
      host.textContent = '';
      if (!languages) {
        host.textContent = code;
        return;
      }
      mountHighlightStyle();
      await languages.highlight(code, languages.findBest(language), host);
    },
    async render(bundle, host) {
      const data = bundle as ReadonlyPartialJSONObject;
      const mime = rendermime?.preferredMimeType(data, 'ensure');
      if (!rendermime || !mime) {
        const text = data['text/plain'];
        host.textContent = typeof text === 'string' ? text : '';
        return () => undefined;
      }
      const renderer = rendermime.createRenderer(mime);
      Widget.attach(renderer, host);
      await renderer.renderModel(new MimeModel({ data, trusted: false }));
      return () => renderer.dispose();
    }
  };
}
