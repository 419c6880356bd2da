/**
 * Returns the exact source text of a top-level member's value in a JSON
 * object text, or undefined. PCS answers `{"tcbInfo":{...},"signature":"..."}`
 * and the signature covers the exact bytes of the `tcbInfo` value, so it must
 * be cut out, never re-serialised. The text must already be valid JSON.
 */
export function rawJsonMember(text: string, key: string): string | undefined {
  let i = skipWs(text, 0);
  if (text[i] !== '{') return undefined;
  i++;
  for (let guard = 0; guard < 10_000; guard++) {
    i = skipWs(text, i);
    if (text[i] === '}') return undefined;
    if (text[i] !== '"') return undefined;
    const keyEnd = stringEnd(text, i);
    const name = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, keyEnd);
    if (text[i] !== ':') return undefined;
    i = skipWs(text, i + 1);
    const valueEnd = valueEndAt(text, i);
    if (name === key) return text.slice(i, valueEnd);
    i = skipWs(text, valueEnd);
    if (text[i] === ',') i++;
    else return undefined;
  }
  return undefined;
}

function skipWs(t: string, i: number): number {
  while (i < t.length && (t[i] === ' ' || t[i] === '\n' || t[i] === '\r' || t[i] === '\t')) i++;
  return i;
}

/** Index just past the closing quote of the string starting at `i`. */
function stringEnd(t: string, i: number): number {
  for (let j = i + 1; j < t.length; j++) {
    if (t[j] === '\\') j++;
    else if (t[j] === '"') return j + 1;
  }
  return t.length;
}

function valueEndAt(t: string, i: number): number {
  if (t[i] === '"') return stringEnd(t, i);
  if (t[i] === '{' || t[i] === '[') {
    let depth = 0;
    for (let j = i; j < t.length; j++) {
      const c = t[j];
      if (c === '"') j = stringEnd(t, j) - 1;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return t.length;
  }
  let j = i;
  while (j < t.length && t[j] !== ',' && t[j] !== '}' && t[j] !== ']' && !/\s/.test(t[j]!)) j++;
  return j;
}
