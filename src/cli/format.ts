// Plain-text output for people: aligned tables and `key  value` lines.

/**
 * Text for a terminal with its control characters (C0 but newline and tab, DEL, C1)
 * shown as \u escapes: a name or comment an admin typed must not move the cursor,
 * rewrite lines or set the clipboard (OSC 52) of the operator who lists it. --json
 * output is JSON, escaped already.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Prints rows as an aligned table. */
export function table(rows: Array<Record<string, string>>): string {
  if (rows.length === 0) return '(none)\n';
  const columns = Object.keys(rows[0]!);
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, index) => cell.padEnd(widths[index]!)).join('  ').trimEnd();
  return `${[line(columns), ...rows.map((row) => line(columns.map((column) => row[column] ?? '')))].join('\n')}\n`;
}

/** One value as a person reads it: lists space-separated, scope definitions by name. */
export function plain(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map((item: unknown) => (typeof item === 'object' && item !== null && 'name' in item ? plain(item.name) : plain(item))).join(' ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** `key  value` lines. */
export function fields(entries: Array<[string, unknown]>): string {
  const width = Math.max(...entries.map(([key]) => key.length));
  return `${entries.map(([key, value]) => `${key.padEnd(width)}  ${plain(value)}`.trimEnd()).join('\n')}\n`;
}
