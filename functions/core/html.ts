// HTML escaping shared by every page and e-mail Switchyard renders on the server.

const htmlEntities: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Makes any text safe inside HTML element content and inside quoted attribute values (single or double), so a
 * value from a record, a config file or a request can never open a tag, close an attribute or start an entity.
 *
 * @example
 * escapeHtml(`<script>alert("x")</script> & 'y'`)
 * // "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
 */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => htmlEntities[char]!);
