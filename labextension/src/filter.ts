/**
 * The filter box's logic apart from its component: the key being typed at the caret and the
 * stored keys to offer for it, what choosing one inserts, the parts of the server's message
 * for a bad filter (its line and the caret under the bad token), and the keys' cache.
 */

/** What `GET /keys` names: the keys stored in the experiment and the attributes. */
export interface IFilterKeys {
  params: string[];
  metrics: string[];
  tags: string[];
  attributes?: string[];
}

export type KeyGroup = 'params' | 'metrics' | 'tags' | 'attributes';

/** The prefixes the filter language takes (nbtrack/query/fields.py) and the keys each names. */
const PREFIX_GROUP: Record<string, KeyGroup> = {
  params: 'params',
  param: 'params',
  parameters: 'params',
  parameter: 'params',
  metrics: 'metrics',
  metric: 'metrics',
  tags: 'tags',
  tag: 'tags',
  attributes: 'attributes',
  attribute: 'attributes',
  attr: 'attributes',
  run: 'attributes'
};

/** The key being typed: after `group`'s prefix, `start..end` of the text, `partial` typed. */
export interface IKeyContext {
  group: KeyGroup;
  start: number;
  end: number;
  partial: string;
}

const KEY_CHARS = /^[\p{L}\p{N}_\-./:]*/u;

/** The key typed at `caret` right after `params.`, `metrics.`, `tags.` or `attributes.`. */
export function keyContext(text: string, caret: number): IKeyContext | null {
  const before = text.slice(0, caret);
  const m = /(?:^|[\s(,])([A-Za-z]+)\.([\p{L}\p{N}_\-./:]*)$/u.exec(before);
  if (!m) {
    return null;
  }
  const group = PREFIX_GROUP[m[1].toLowerCase()];
  if (!group) {
    return null;
  }
  const rest = KEY_CHARS.exec(text.slice(caret))?.[0] ?? '';
  return {
    group,
    start: caret - m[2].length,
    end: caret + rest.length,
    partial: m[2]
  };
}

/**
 * The keys of `context.group` holding what was typed (ignoring case), those starting with it
 * first, at most `max`; none once the typed key is complete and the only one.
 */
export function matchingKeys(
  keys: IFilterKeys,
  context: IKeyContext,
  max = 50
): string[] {
  const all = keys[context.group] ?? [];
  const typed = context.partial.toLowerCase();
  const hits = all.filter(k => k.toLowerCase().includes(typed));
  const first = hits.filter(k => k.toLowerCase().startsWith(typed));
  const rest = hits.filter(k => !k.toLowerCase().startsWith(typed));
  const found = first.concat(rest).slice(0, max);
  return found.length === 1 && found[0] === context.partial ? [] : found;
}

/** A key as the filter language spells it: bare, or in backquotes (nodes.quote_key). */
export function quoteKey(key: string): string {
  return /^[\p{L}\p{N}_\-./:]+$/u.test(key)
    ? key
    : '`' + key.replace(/`/g, '``') + '`';
}

/** The text with `key` in place of the one typed, and the caret after it (and a space). */
export function insertKey(
  text: string,
  context: IKeyContext,
  key: string
): { text: string; caret: number } {
  const after = text.slice(context.end);
  const spaced = after.startsWith(' ') ? '' : ' ';
  const inserted = quoteKey(key) + spaced;
  return {
    text: text.slice(0, context.start) + inserted + after,
    caret: context.start + inserted.length
  };
}

/** A bad filter's message in parts: the line as the server shows it and the bad token in it. */
export interface IFilterErrorParts {
  reason: string;
  line: string;
  /** Where the bad token starts in `line` and how many characters it takes. */
  start: number;
  length: number;
  hint: string;
}

/**
 * The parts of a QueryError's message (nbtrack/errors.py): the reason, the line indented by two
 * spaces, the carets under the bad token on the next line, then the hint; null for any other
 * message (shown as it is).
 */
export function errorParts(message: string): IFilterErrorParts | null {
  const lines = message.split('\n');
  const at = lines.findIndex((l, i) => i >= 2 && /^ {2} *\^+\s*$/.test(l));
  if (at < 0 || !lines[at - 1].startsWith('  ')) {
    return null;
  }
  const carets = lines[at].slice(2);
  const start = carets.indexOf('^');
  return {
    reason: lines.slice(0, at - 1).join('\n'),
    line: lines[at - 1].slice(2),
    start,
    length: carets.trimEnd().length - start,
    hint: lines.slice(at + 1).join('\n')
  };
}

/** The keys of each experiment, asked again once `ttlMs` old (a new run may bring new keys). */
export class FilterKeysCache {
  constructor(
    private readonly fetch: (experiment: string) => Promise<IFilterKeys>,
    private readonly ttlMs = 30_000,
    private readonly now: () => number = () => Date.now()
  ) {}

  get(experiment = ''): Promise<IFilterKeys> {
    const hit = this._entries.get(experiment);
    if (hit && this.now() - hit.at < this.ttlMs) {
      return hit.keys;
    }
    const keys = this.fetch(experiment);
    const entry = { at: this.now(), keys };
    this._entries.set(experiment, entry);
    keys.catch(() => {
      if (this._entries.get(experiment) === entry) {
        this._entries.delete(experiment); // asked again next time
      }
    });
    return keys;
  }

  private _entries = new Map<
    string,
    { at: number; keys: Promise<IFilterKeys> }
  >();
}
