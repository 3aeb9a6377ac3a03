// The widget's words. English (src/lang/en.json) is built into frame.js; the
// other languages (src/lang/LANG.json, copied to dist/lang-LANG.json) are
// fetched from the chat origin only when a visitor needs one, so nobody
// downloads the dictionaries of languages they don't read. {0}, {1} are
// filled in by t(); a key missing from a language falls back to English.
// widget/i18n_test.go checks that every language has exactly English's keys.

import en from './lang/en.json';

export type Key = keyof typeof en;
type Dict = Partial<Record<Key, string>>;

/** The supported languages (each has src/lang/LANG.json). */
export const languages = ['en', 'fr', 'de', 'es', 'pt', 'ar'];
const RTL = ['ar', 'he', 'fa', 'ur'];

const loaded: Record<string, Promise<Dict>> = { en: Promise.resolve(en) };
let cur: Dict = en;
export let lang = 'en';

/** The first supported language among the tags ("pt-BR" matches "pt"), or "". */
export function pick(...tags: (string | null | undefined)[]): string {
  for (const tag of tags) {
    const base = (tag || '').toLowerCase().split(/[-_]/)[0];
    if (languages.includes(base)) return base;
  }
  return '';
}

/** Switches to the first supported language among the tags; false when none is (or it failed to load). */
export async function setLang(...tags: (string | null | undefined)[]): Promise<boolean> {
  const base = pick(...tags);
  if (!base) return false;
  if (!loaded[base]) {
    const p = fetch('lang-' + base + '.json').then((r) => {
      if (!r.ok) throw new Error('lang ' + base + ': ' + r.status);
      return r.json() as Promise<Dict>;
    });
    loaded[base] = p;
    p.catch(() => delete loaded[base]);
  }
  try {
    cur = await loaded[base];
    lang = base;
    return true;
  } catch {
    return false;
  }
}

export function isRtl(): boolean {
  return RTL.includes(lang);
}

export function t(key: Key, ...args: (string | number)[]): string {
  const s = cur[key] || en[key];
  return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ''));
}
