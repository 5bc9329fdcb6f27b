/**
 * Escaping text for XML and HTML (charts' SVG, tables, the study report).
 *
 * @module
 */

/**
 * Escapes text for XML/HTML content and attribute values (`& < > " '`).
 *
 * @example
 * ```ts
 * escapeXml(`Pop "Tate" & <co>`); // "Pop &quot;Tate&quot; &amp; &lt;co&gt;"
 * ```
 */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}
