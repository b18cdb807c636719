/**
 * The part of vega-embed the Compare view uses. vega-embed declares its types under package
 * `exports`, which this project's `moduleResolution: node` does not read.
 */
declare module 'vega-embed' {
  export interface IEmbedResult {
    view: {
      finalize(): void;
      width(): number;
      height(): number;
    };
    finalize(): void;
  }
  export default function embed(
    el: HTMLElement,
    spec: Record<string, unknown>,
    options?: Record<string, unknown>
  ): Promise<IEmbedResult>;
}
