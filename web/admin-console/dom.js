/* DOM helpers of the admin console: elements are built node by node, every text set through textContent. */

export const $ = (id) => document.getElementById(id);

/** An element with properties (`dataset`, `onclick` handled) and children. */
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'onclick') node.addEventListener('click', v);
    else node[k] = v;
  }
  for (const c of children) node.append(c);
  return node;
}

/** Seconds as m:ss ('' when unknown). */
export function duration(s) {
  if (s === null || s === undefined) return '';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.round(s - m * 60)).padStart(2, '0')}`;
}
