/**
 * Whether a text is a file name and nothing more: no folder (`/` or `\`), no control character, not `.` or `..`.
 * An attachment's name reaches a reader's mail program, which may save it under that name: a name with folders in
 * it ("../../etc/passwd") is a path, and is refused wherever an attachment is named (the CSV node, the send node).
 */
export function isPlainFileName(name: string): boolean {
  const trimmed = name.trim();
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  return trimmed !== "" && trimmed !== "." && trimmed !== ".." && !/[\u0000-\u001f\u007f/\\]/.test(name);
}
