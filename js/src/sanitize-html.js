// `sanitize-html` as @jupyter-widgets/base-manager calls it (for descriptions with `description_allow_html`): the
// tags in `allowedTags`, the attributes in `allowedAttributes` (by tag, '*' for any tag, 'aria-*' globs), URLs of
// sanitize-html's default schemes, the text of other tags kept but for sanitize-html's `nonTextTags`. The build puts
// this module in its place (esbuild's alias): DOMPurify applies the same rules at a tenth of the size (sanitize-html
// brings htmlparser2, postcss and entities).
import DOMPurify from 'dompurify';

const purify = DOMPurify(window); // an instance of its own: the hook below changes no one else's
const SCHEMES = /^(?:(?:https?|ftp|mailto|tel):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i; // or no scheme: a relative URL
const NON_TEXT_TAGS = ['script', 'style', 'textarea', 'option', 'noscript'];
let allowedAttributes = {};

const matches = (pattern, name) => (pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : pattern === name);

purify.addHook('uponSanitizeAttribute', (node, data) => {
  const patterns = [...(allowedAttributes['*'] ?? []), ...(allowedAttributes[node.nodeName.toLowerCase()] ?? [])];
  if (!patterns.some((pattern) => matches(pattern, data.attrName))) {
    data.keepAttr = false;
  }
  if (['href', 'src'].includes(data.attrName) && /^\s*data:/i.test(data.attrValue)) {
    data.keepAttr = false; // DOMPurify lets images have data: URLs; sanitize-html's default schemes do not
  }
});

export default function sanitize(html, options) {
  allowedAttributes = options.allowedAttributes ?? {};
  const names = Object.values(allowedAttributes).flat().filter((name) => !name.endsWith('*'));
  return purify.sanitize(html, {
    ALLOWED_TAGS: options.allowedTags, ALLOWED_ATTR: names, ALLOWED_URI_REGEXP: SCHEMES, FORBID_CONTENTS: NON_TEXT_TAGS,
  });
}
