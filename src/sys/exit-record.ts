import fs from 'node:fs';

/**
 * An exit record: one line, the exit code. Undefined until the line is complete (the
 * writer does not rename a finished file into place), or when there is none.
 */
export function readExitRecord(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return text.endsWith('\n') ? text.trim() : undefined;
}
