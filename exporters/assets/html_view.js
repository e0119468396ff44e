/* modelmap interactive view.
 *
 * Reads the model from <script type="application/json" id="modelmap-data"> (written by
 * exporters/html.py, see build_data there), keeps which modules are expanded and which
 * repeated runs are unfolded, and after every change:
 *   1. builds the visible tree: expanded modules and unfolded runs become frames, every
 *      collapsed module, folded run and layer one box (build);
 *   2. maps every layer-to-layer edge onto the boxes holding its ends and marks the
 *      edges that carry a skip connection's shortcut (connect);
 *   3. lays the visible graph out with ELK's layered algorithm (elkGraph, ELK.layout);
 *   4. draws it as SVG (render).
 * Nothing read from the data is ever parsed as markup: text goes in with textContent,
 * attributes with setAttribute, colours and kinds are checked against fixed patterns.
 *
 * Test hooks: every box has data-path (its layer name or module name; a run of repeats
 * "first … last"), expandable boxes aria-expanded, skip edges data-skip=<kind>; the body
 * counts finished drawings in data-renders; window.modelmapView.timings holds figures.
 */
(function () {
  'use strict';

  const SVGNS = 'http://www.w3.org/2000/svg';
  const ELLIPSIS = '\u2026';
  const HEADER = 24; // height of a frame's title bar
  const PAD = 10; // padding inside a frame
  const STACK = 5; // offset of the "cards" behind a folded run

  const t0 = performance.now();
  const data = JSON.parse(document.getElementById('modelmap-data').textContent);
  const opts = data.options;
  const init = data.initial; // the first view: {depth: N or null (the top level), fold, page: the page fitted or null}
  const paper = opts.paper ? data.paper || { hidden: [], labels: {}, titles: {}, folds: {}, runs: {} } : null;
  if (paper) document.body.classList.add('paper');
  const style = data.style;
  const strings = data.strings;
  const str = (i) => (i >= 0 ? strings[i] : '');

  // ------------------------------------------------------------------ the model, indexed

  const N = data.name.length;
  const names = data.name; // made whole below: a child's may be stored as the rest after its parent's
  const SEPARATORS = ['', '.', '/'];
  const parent = new Int32Array(N);
  const depth = new Int32Array(N);
  const end = new Int32Array(N); // the subtree of i is the index range [i, end[i])
  const children = Array.from({ length: N }, () => []);
  parent[0] = -1;
  for (let i = 1; i < N; i++) {
    parent[i] = i - data.up[i];
    depth[i] = depth[parent[i]] + 1;
    children[parent[i]].push(i);
    if (data.pre[i]) names[i] = names[parent[i]] + SEPARATORS[data.pre[i]] + names[i];
  }
  for (let i = N - 1; i >= 0; i--) {
    if (end[i] === 0) end[i] = i + 1;
    if (i > 0 && end[parent[i]] < end[i]) end[parent[i]] = end[i];
  }
  const isLeaf = (i) => i > 0 && children[i].length === 0;
  const leavesBefore = new Int32Array(N + 1);
  for (let i = 0; i < N; i++) leavesBefore[i + 1] = leavesBefore[i] + (isLeaf(i) ? 1 : 0);
  const leafCount = (i) => leavesBefore[end[i]] - leavesBefore[i];
  const inside = (x, m) => x >= m && x < end[m];
  const kindOf = (i) => str(data.kind[i]);
  const keyOf = (i) => (Object.prototype.hasOwnProperty.call(data.keys, i) ? data.keys[i] : names[i]);

  // layer-to-layer edges (stored as deltas), as adjacency lists in both directions
  const edgeList = new Int32Array(data.edges.length);
  for (let e = 0, u = 0; e < edgeList.length; e += 2) {
    u += data.edges[e];
    edgeList[e] = u;
    edgeList[e + 1] = u + data.edges[e + 1];
  }
  const succ = adjacency(0);
  const pred = adjacency(1);
  function adjacency(from) {
    const start = new Int32Array(N + 1);
    for (let e = from; e < edgeList.length; e += 2) start[edgeList[e] + 1]++;
    for (let i = 0; i < N; i++) start[i + 1] += start[i];
    const list = new Int32Array(edgeList.length / 2);
    const fill = start.slice(0, N);
    for (let e = 0; e < edgeList.length; e += 2) list[fill[edgeList[e + from]]++] = edgeList[e + 1 - from];
    return { start, list, of: (i) => list.subarray(start[i], start[i + 1]) };
  }

  const skips = data.skips.map(([k, merge, fork, shortcut, body]) => ({
    kind: str(k), merge, fork: merge - fork, shortcut: shortcut.map((d) => merge - d), body: body.map((d) => merge - d),
  }));
  const skipsAt = new Map(); // node -> skips it forks, merges or carries
  skips.forEach((s) => [s.fork, s.merge, ...s.shortcut].forEach((i) => {
    if (!skipsAt.has(i)) skipsAt.set(i, []);
    if (!skipsAt.get(i).includes(s)) skipsAt.get(i).push(s);
  }));

  const blocks = data.blocks.map(([nameIdx, par, units]) => ({
    name: str(nameIdx), parent: par, units, count: units.length,
    lead: Math.min(...units.map((u) => Math.min(...u))),
  }));
  const childBlock = new Int32Array(N).fill(-1); // the run a child of a module belongs to
  const childUnit = new Int32Array(N); // and which repetition
  blocks.forEach((b, bi) => b.units.forEach((u, k) => u.forEach((c) => { childBlock[c] = bi; childUnit[c] = k; })));
  const memberName = (b, k) => names[blocks[b].units[k][0]];
  const hidden = new Uint8Array(N); // the paper style's plumbing: no box, arrows pass through
  if (paper) for (const i of paper.hidden) hidden[i] = 1;
  const own = (table, i) => (paper && Object.prototype.hasOwnProperty.call(table, i) ? table[i] : null);

  // ------------------------------------------------------------------ labels and numbers

  function shortName(i) {
    const p = parent[i];
    const n = names[i];
    if (p > 0) {
      const pn = names[p];
      const sep = n.charAt(pn.length);
      const rest = n.slice(pn.length + 1);
      if (n.startsWith(pn) && (sep === '.' || sep === '/') && rest && !/^\d+$/.test(rest)) return rest;
    }
    return n;
  }
  function clip(text, limit) {
    text = String(text).replace(/\s+/g, ' ');
    return text.length <= limit ? text : text.slice(0, limit - 1) + ELLIPSIS;
  }
  function compact(n) {
    if (n < 1000) return String(n);
    for (const [unit, scale] of [['B', 1e9], ['M', 1e6], ['K', 1e3]]) {
      if (n >= scale) return (n / scale).toPrecision(3).replace(/\.?0+$/, '') + unit;
    }
    return String(n);
  }
  const exact = (n) => Number(n).toLocaleString('en-US');
  const plural = (n, word) => `${exact(n)} ${word}${n === 1 ? '' : /(s|x|ch|sh)$/.test(word) ? 'es' : 's'}`;

  const shapeMemo = new Map();
  function outputShape(i) { // a module's: the last tensor leaving it
    if (isLeaf(i)) return str(data.shape[i]);
    if (shapeMemo.has(i)) return shapeMemo.get(i);
    let shape = '';
    for (let x = end[i] - 1; x >= i && !shape; x--) {
      if (isLeaf(x) && Array.from(succ.of(x)).some((t) => !inside(t, i))) shape = str(data.shape[x]);
    }
    shapeMemo.set(i, shape);
    return shape;
  }
  function runParams(b, lo, hi) {
    let sum = 0;
    for (let k = lo; k <= hi; k++) for (const c of blocks[b].units[k]) sum += data.nparams[c];
    return sum;
  }
  function ancestry(i) {
    const out = [];
    for (let a = parent[i]; a > 0; a = parent[a]) out.unshift(names[a]);
    return out;
  }

  // ------------------------------------------------------------------ view state

  const expanded = new Uint8Array(N); // modules drawn as open frames
  const runs = new Map(); // block -> Set of repetitions shown (absent: folded into one box)
  const opened = new Set(); // folded blocks drawn as their first repetition, titled "x N" (as the figures do)
  const windows = new Map(); // module with many entries -> the range of them drawn {start, count}
  expanded[0] = 1;

  function initialState() {
    expanded.fill(0);
    expanded[0] = 1;
    runs.clear();
    opened.clear();
    windows.clear();
    if (init.depth) {
      for (let i = 1; i < N; i++) if (!isLeaf(i) && depth[i] < init.depth) expanded[i] = 1;
      // a folded run whose repetition is more than one box at this depth: its first, marked x N
      if (init.fold) blocks.forEach((b, bi) => { if (b.units[0].length > 1 || expanded[b.lead]) opened.add(bi); });
    } else {
      // open a lone container that holds most of the model (GPT2LMHeadModel -> transformer)
      for (let m = 0; ;) {
        const containers = children[m].filter((c) => !isLeaf(c));
        if (containers.length !== 1 || leafCount(containers[0]) * 2 < leafCount(m)) break;
        m = containers[0];
        expanded[m] = 1;
      }
    }
    if (!init.fold) blocks.forEach((b, bi) => runs.set(bi, firstPage(bi, 0, b.count - 1)));
  }
  function firstPage(b, lo, hi) { // repetitions a click on a folded stretch shows
    const shown = runs.get(b) || new Set();
    const last = hi - lo + 1 <= opts.page + 4 ? hi : lo + opts.page - 1;
    for (let k = lo; k <= last; k++) shown.add(k);
    return shown;
  }

  // ------------------------------------------------------------------ 1. the visible tree

  let items = []; // boxes and frames of the current drawing
  const rep = new Int32Array(N); // node -> the item that shows it
  const copy = new Int32Array(N); // a node of an opened run: 1 + the run's block (0: none)
  const copyUnit = new Int32Array(N); // and the repetition it belongs to

  function newItem(type, node, container) {
    const it = { idx: items.length, type, node, container, children: null, block: -1, lo: 0, hi: 0, badges: null };
    items.push(it);
    if (container) container.children.push(it);
    return it;
  }
  function build() {
    items = [];
    rep.fill(-1);
    copy.fill(0);
    const root = newItem('root', 0, null);
    root.children = [];
    fillFrame(root, 0);
    return root;
  }
  // A module's entries: its children, a run of repeated children counting as one. A module
  // with very many (an ONNX file without hierarchy: every op at the top) draws a window of
  // them; the rest become "N more" boxes before and after it.
  const entryMemo = new Map();
  function entriesOf(m) {
    let list = entryMemo.get(m);
    if (!list) {
      list = [];
      for (const c of children[m]) {
        const b = childBlock[c];
        if (b < 0) list.push({ child: c, block: -1 });
        else if (c === blocks[b].lead) list.push({ child: c, block: b });
      }
      entryMemo.set(m, list);
    }
    return list;
  }
  function windowOf(m) {
    const n = entriesOf(m).length;
    if (n <= opts.window * 1.5) return { start: 0, count: n };
    return windows.get(m) || { start: 0, count: opts.window };
  }
  function fillFrame(frame, m) {
    const list = entriesOf(m);
    const w = windowOf(m);
    const stop = Math.min(list.length, w.start + w.count);
    if (w.start > 0) emitMore(frame, m, 0, w.start - 1);
    for (let k = w.start; k < stop; k++) {
      const e = list[k];
      if (e.block < 0) emitNode(frame, e.child); else emitRun(frame, e.block);
    }
    if (stop < list.length) emitMore(frame, m, stop, list.length - 1);
  }
  function emitMore(frame, m, lo, hi) {
    const it = newItem('more', entriesOf(m)[lo].child, frame);
    Object.assign(it, { owner: m, lo, hi });
    for (let k = lo; k <= hi; k++) {
      const e = entriesOf(m)[k];
      const kids = e.block < 0 ? [e.child] : blocks[e.block].units.flat();
      for (const c of kids) rep.fill(it.idx, c, end[c]);
    }
  }
  function emitNode(frame, c) {
    if (hidden[c]) return;
    if (expanded[c] && !isLeaf(c)) {
      const it = newItem('module', c, frame);
      it.children = [];
      rep[c] = it.idx;
      fillFrame(it, c);
    } else {
      rep.fill(newItem('node', c, frame).idx, c, end[c]);
    }
  }
  function emitRun(frame, b) {
    const blk = blocks[b];
    const shown = runs.get(b);
    if (!shown && !opened.has(b)) { emitFold(frame, b, 0, blk.count - 1); return; }
    const run = newItem('run', -1, frame);
    run.block = b;
    run.lo = 0;
    run.hi = blk.count - 1;
    run.children = [];
    if (!shown) { emitFirst(run, b); return; }
    for (let k = 0; k < blk.count;) {
      if (shown.has(k)) {
        for (const c of blk.units[k]) emitNode(run, c);
        k++;
        continue;
      }
      let j = k;
      while (j < blk.count && !shown.has(j)) j++;
      if (j - k === 1) blk.units[k].forEach((c) => emitNode(run, c)); // one alone needs no fold
      else emitFold(run, b, k, j - 1);
      k = j;
    }
  }
  function emitFirst(run, b) { // the first repetition stands for all: the others' nodes map onto its own
    const units = blocks[b].units;
    run.opened = true;
    if (units[0].length === 1) { rep[units[0][0]] = run.idx; fillFrame(run, units[0][0]); } // its frame is the run's
    else units[0].forEach((c) => emitNode(run, c));
    units.forEach((u, k) => u.forEach((c, p) => {
      const first = units[0][Math.min(p, units[0].length - 1)];
      const same = end[c] - c === end[first] - first;
      for (let x = c; x < end[c]; x++) {
        copy[x] = b + 1;
        copyUnit[x] = k;
        if (k) rep[x] = rep[same ? first + (x - c) : first];
      }
    }));
  }
  function emitFold(frame, b, lo, hi) {
    const it = newItem('fold', blocks[b].units[lo][0], frame);
    it.block = b;
    it.lo = lo;
    it.hi = hi;
    for (let k = lo; k <= hi; k++) for (const c of blocks[b].units[k]) rep.fill(it.idx, c, end[c]);
  }

  function itemKey(it) {
    if (it.type === 'fold' || it.type === 'run') {
      const first = memberName(it.block, it.lo);
      return it.hi > it.lo ? `${first} ${ELLIPSIS} ${memberName(it.block, it.hi)}` : first;
    }
    if (it.type === 'more') {
      const list = entriesOf(it.owner);
      return `${keyOf(list[it.lo].child)} ${ELLIPSIS} ${keyOf(list[it.hi].child)}`;
    }
    return keyOf(it.node);
  }
  const expandable = (it) => it.type === 'fold' || it.type === 'module' || it.type === 'run' || it.type === 'more'
    || (it.type === 'node' && !isLeaf(it.node));
  function moreLayers(it) { // how many layers a "more" box stands for
    let n = 0;
    for (let k = it.lo; k <= it.hi; k++) {
      const e = entriesOf(it.owner)[k];
      for (const c of e.block < 0 ? [e.child] : blocks[e.block].units.flat()) n += isLeaf(c) ? 1 : leafCount(c);
    }
    return n;
  }

  // ------------------------------------------------------------------ 2. edges and skips

  function connect() {
    const M = items.length;
    const index = new Map();
    const edges = [];
    const edgeOf = (a, b) => {
      const key = a * M + b;
      let e = index.get(key);
      if (e === undefined) {
        e = edges.length;
        index.set(key, e);
        edges.push({ src: a, dst: b, kind: 'data', skips: [] });
      }
      return edges[e];
    };
    // between two repetitions of an opened run: the run's own loop, not drawn
    const across = (u, v) => copy[u] !== 0 && copy[u] === copy[v] && copyUnit[u] !== copyUnit[v];
    for (let e = 0; e < edgeList.length; e += 2) {
      const a = rep[edgeList[e]];
      const b = rep[edgeList[e + 1]];
      if (a !== b && a >= 0 && b >= 0 && !across(edgeList[e], edgeList[e + 1])) edgeOf(a, b);
    }
    for (const s of skips) {
      if (copy[s.merge] && copyUnit[s.merge]) continue; // inside a repetition drawn as the first
      const a = rep[s.fork];
      const b = rep[s.merge];
      if (a === b || s.body.every((x) => rep[x] === a || rep[x] === b)) {
        const it = items[b]; // the whole skip sits inside one box (or two): a badge
        it.badges = it.badges || {};
        it.badges[s.kind] = (it.badges[s.kind] || 0) + 1;
        continue;
      }
      const chain = [a];
      for (const x of s.shortcut) if (rep[x] !== chain[chain.length - 1]) chain.push(rep[x]);
      if (chain[chain.length - 1] !== b) chain.push(b);
      for (let i = 0; i + 1 < chain.length; i++) {
        const e = edgeOf(chain[i], chain[i + 1]);
        if (e.kind === 'data') e.kind = s.kind;
        e.skips.push(s);
      }
    }
    return edges;
  }

  // ------------------------------------------------------------------ 3. sizes and layout

  const FONT = getComputedStyle(document.body).getPropertyValue('--font').trim() || 'sans-serif';
  const NAME_FONT = paper ? `12px ${FONT}` : `600 12px ${FONT}`;
  const TEXT_FONT = paper ? `12px ${FONT}` : `11px ${FONT}`;
  const LINE = paper ? 15 : 14; // the distance between a box's lines
  const BADGE_FONT = `600 11px ${FONT}`;
  const measureCtx = document.createElement('canvas').getContext('2d');
  const widthMemo = new Map();
  function textWidth(text, font) {
    const key = font + '\u0000' + text;
    let w = widthMemo.get(key);
    if (w === undefined) {
      measureCtx.font = font;
      w = measureCtx.measureText(text).width;
      widthMemo.set(key, w);
    }
    return w;
  }

  function badgeText(badges) {
    return Object.keys(badges).map((k) => `${badges[k]} ${k}`).join(' \u00b7 ');
  }
  function paperLines(it) { // the paper figure's text of a box (as the paper SVG has it), or null
    const i = it.node;
    if (it.type === 'node' && !isLeaf(i) && !own(paper.labels, i)) { // a module deeper than the figure's
      return [shortName(i), str(data.cls[i]), opts.shapes ? outputShape(i) : '',
        opts.params && data.nparams[i] ? compact(data.nparams[i]) + ' params' : ''].filter(Boolean).join('\n');
    }
    if (it.type === 'node') return own(paper.labels, i);
    if (it.type !== 'fold') return null;
    const b = blocks[it.block];
    const whole = it.lo === 0 && it.hi === b.count - 1 ? own(paper.folds, b.lead) : null;
    const n = it.hi - it.lo + 1;
    return whole || `${clip(b.name, 32)} \u00d7 ${exact(n)}` + (opts.params ? `\n${compact(runParams(it.block, it.lo, it.hi))} params` : '');
  }
  function boxLines(it) { // [name line, detail lines...] of a box, and its look
    const text = paper ? paperLines(it) : null;
    it.glyph = text !== null && /^[+\u00d7]$/.test(text); // a merge drawn as a circle
    if (text !== null) { it.badges = null; return text.split('\n'); } // the text says the skips inside
    const i = it.node;
    const facts = (shape, params) => [opts.shapes ? shape : '', opts.params && params ? compact(params) + ' params' : '']
      .filter(Boolean).join(' \u00b7 ');
    let lines;
    if (it.type === 'more') {
      const list = entriesOf(it.owner);
      lines = [`\u25B8 ${plural(moreLayers(it), 'more layer')}`,
        `${clip(shortName(list[it.lo].child), 22)} ${ELLIPSIS} ${clip(shortName(list[it.hi].child), 22)}`];
    } else if (it.type === 'fold') {
      const n = it.hi - it.lo + 1;
      const span = n > 1 ? `${clip(memberName(it.block, it.lo), 22)} ${ELLIPSIS} ${clip(memberName(it.block, it.hi), 22)}` : '';
      lines = [`\u25B8 ${clip(blocks[it.block].name, 32)} \u00d7 ${exact(n)}`, span,
        facts('', runParams(it.block, it.lo, it.hi))];
    } else if (!isLeaf(i)) {
      lines = [`\u25B8 ${clip(shortName(i), 40)}`, `${clip(str(data.cls[i]), 32)} \u00b7 ${plural(leafCount(i), 'layer')}`,
        facts(outputShape(i), data.nparams[i])];
    } else {
      const kind = kindOf(i);
      const type = [str(data.cls[i]), str(data.hyper[i])].filter(Boolean).join(' ');
      lines = kind === 'input' || kind === 'output'
        ? [clip(shortName(i), 40), opts.shapes ? str(data.shape[i]) : '']
        : [clip(shortName(i), 40), clip(type, 40), facts(str(data.shape[i]), data.nparams[i])];
    }
    lines = lines.filter((l, k) => k === 0 || l);
    if (it.badges) lines.push('\u21B7 ' + badgeText(it.badges));
    return lines;
  }
  function boxSize(it) {
    const lines = boxLines(it);
    if (it.glyph) return { w: 26, h: 26, lines };
    let w = textWidth(lines[0], NAME_FONT);
    for (let k = 1; k < lines.length; k++) {
      w = Math.max(w, textWidth(lines[k], it.badges && k === lines.length - 1 ? BADGE_FONT : TEXT_FONT));
    }
    const extra = it.type === 'fold' ? STACK * 2 : 0;
    return { w: Math.ceil(Math.max(w + 22, 72)) + extra, h: 12 + 16 + LINE * (lines.length - 1) + extra, lines };
  }
  function frameTitle(it) {
    if (paper) { // one title, as the paper figure's clusters have
      const b = it.type === 'run' ? blocks[it.block] : null;
      if (!b) return [own(paper.titles, it.node) || shortName(it.node), ''];
      if (it.opened) return [own(paper.runs, b.lead) || `\u00d7 ${exact(b.count)}  ${clip(b.name, 32)}`, ''];
      return [`${clip(b.name, 32)}: ${clip(memberName(it.block, 0), 22)} ${ELLIPSIS} ${clip(memberName(it.block, b.count - 1), 22)}`, ''];
    }
    if (it.type === 'run') {
      const b = blocks[it.block];
      const span = `${clip(memberName(it.block, 0), 22)} ${ELLIPSIS} ${clip(memberName(it.block, b.count - 1), 22)}`;
      return [`\u25BE ${clip(b.name, 32)} \u00d7 ${exact(b.count)}`, it.opened ? `the first drawn for ${span}` : span];
    }
    const i = it.node;
    const cls = str(data.cls[i]);
    return [`\u25BE ${clip(shortName(i), 40)}${cls && cls !== names[i] ? ' \u00b7 ' + clip(cls, 32) : ''}`,
      opts.params && data.nparams[i] ? compact(data.nparams[i]) + ' params' : ''];
  }

  const LAYOUT = {
    'elk.algorithm': 'layered',
    'elk.direction': opts.direction === 'RIGHT' ? 'RIGHT' : 'DOWN',
    'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
    'elk.json.shapeCoords': 'ROOT',
    'elk.json.edgeCoords': 'ROOT',
    'elk.edgeRouting': 'ORTHOGONAL',
    'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
    'elk.layered.thoroughness': '3',
    'elk.layered.spacing.nodeNodeBetweenLayers': '26',
    'elk.layered.spacing.edgeNodeBetweenLayers': '12',
    'elk.spacing.nodeNode': '18',
    'elk.spacing.edgeNode': '12',
    'elk.spacing.edgeEdge': '8',
    'elk.padding': '[top=16,left=16,bottom=16,right=16]',
  };

  function elkGraph(root, edges) {
    const toElk = (it) => {
      if (it.children) {
        const [title, right] = it.type === 'root' ? ['', ''] : frameTitle(it);
        it.title = [title, right];
        const minW = Math.ceil(textWidth(title, NAME_FONT) + (right ? textWidth(right, TEXT_FONT) + 16 : 0) + 24);
        it.elk = {
          id: 'i' + it.idx,
          layoutOptions: it.type === 'root' ? LAYOUT : {
            'elk.padding': `[top=${HEADER + PAD},left=${PAD},bottom=${PAD},right=${PAD}]`,
            'elk.nodeSize.constraints': 'MINIMUM_SIZE',
            // ELK's layered algorithm reads this minimum transposed when it lays out downwards
            'elk.nodeSize.minimum': LAYOUT['elk.direction'] === 'DOWN' ? `(${HEADER + 2 * PAD}, ${minW})` : `(${minW}, ${HEADER + 2 * PAD})`,
          },
          children: it.children.map(toElk),
          edges: [],
        };
      } else {
        const size = boxSize(it);
        it.lines = size.lines;
        it.elk = { id: 'i' + it.idx, width: size.w, height: size.h };
      }
      return it.elk;
    };
    const graph = toElk(root);
    edges.forEach((e, k) => {
      e.id = 'e' + k;
      commonFrame(items[e.src], items[e.dst]).elk.edges.push({ id: e.id, sources: ['i' + e.src], targets: ['i' + e.dst] });
    });
    return graph;
  }
  function commonFrame(a, b) {
    const above = new Set();
    for (let x = a.container; x; x = x.container) above.add(x);
    for (let x = b.container; x; x = x.container) if (above.has(x)) return x;
    return items[0];
  }
  function readLayout(graph, edges) {
    const stack = [graph];
    while (stack.length) {
      const n = stack.pop();
      const it = items[Number(n.id.slice(1))];
      Object.assign(it, { x: n.x || 0, y: n.y || 0, w: n.width, h: n.height });
      for (const e of n.edges || []) edges[Number(e.id.slice(1))].sections = e.sections || [];
      if (n.children) stack.push(...n.children);
    }
  }

  // ------------------------------------------------------------------ 4. drawing

  const PAPER_CSS = `
    text { font-family: ${FONT}; fill: #000000; }
    .t-name, .t-line, .t-badge { font-size: 12px; font-weight: 400; fill: #000000; }
    .t-glyph { font-size: 16px; fill: #000000; }
    .t-caption { font-size: 15px; fill: #000000; }
    .box rect.body, .box circle.body { stroke: #000000; stroke-width: 0.8; }
    .box.expandable rect.body { stroke: #000000; stroke-width: 0.8; }
    .box.fold rect.body, .box.fold rect.stack { stroke: #000000; stroke-width: 1.8; }
    .box.more rect.body { stroke-dasharray: 4 3; }
    .box.io rect.body { stroke-width: 0.8; }
    .box:hover rect.body, .box:focus rect.body { stroke: #2563eb; stroke-width: 1.6; outline: none; }
    .box:focus, .hdr:focus { outline: none; }
    .box.selected rect.body { stroke: #2563eb; stroke-width: 2; }
    .box.found rect.body { stroke: #f59e0b; stroke-width: 3; }
    .frame { stroke: #7f7f7f; stroke-width: 0.8; stroke-dasharray: 5 3; }
    .cluster.run > .frame { stroke: #333333; }
    .cluster.opened > .frame { stroke-width: 1.6; stroke-dasharray: none; }
    .cluster.selected > .frame { stroke: #2563eb; stroke-width: 1.6; }
    .cluster.found > .frame { stroke: #f59e0b; stroke-width: 3; }
    .hdr { cursor: pointer; }
    .hdr rect { fill: #ffffff; fill-opacity: 0; }
    .hdr:hover rect, .hdr:focus rect { fill: #e8eef6; fill-opacity: 1; }
    .edge { fill: none; }
    .edge.data { stroke: #000000; stroke-width: 0.9; pointer-events: none; }
    .edge.skip { stroke-linecap: round; }
  `;
  const GRAPH_CSS = paper ? PAPER_CSS : `
    text { font-family: ${FONT}; fill: #1d2530; }
    .t-name { font-size: 12px; font-weight: 600; }
    .t-line { font-size: 11px; fill: #4a5563; }
    .t-badge { font-size: 11px; font-weight: 600; }
    .box { cursor: pointer; }
    .box rect.body { stroke: #5b6675; stroke-width: 1; }
    .box.expandable rect.body { stroke: #334155; stroke-width: 1.6; }
    .box.fold rect.body, .box.fold rect.stack { stroke: #334155; stroke-width: 1.4; }
    .box.more rect.body { stroke-dasharray: 4 3; }
    .box:hover rect.body, .box:focus rect.body { stroke: #2563eb; stroke-width: 2; outline: none; }
    .box:focus, .hdr:focus { outline: none; }
    .box.selected rect.body { stroke: #2563eb; stroke-width: 2.6; }
    .box.found rect.body { stroke: #f59e0b; stroke-width: 3.5; }
    .frame { stroke: #9aa5b1; stroke-width: 1; }
    .cluster.run > .frame { stroke: #475569; stroke-dasharray: 5 3; }
    .cluster.selected > .frame { stroke: #2563eb; stroke-width: 2; }
    .cluster.found > .frame { stroke: #f59e0b; stroke-width: 3; }
    .hdr { cursor: pointer; }
    .hdr rect { fill: #dfe6ef; }
    .cluster.run > .hdr rect { fill: #e2e8f0; }
    .hdr:hover rect, .hdr:focus rect { fill: #cdd9e8; }
    .edge { fill: none; }
    .edge.data { stroke: #7b8594; stroke-width: 1.1; pointer-events: none; } /* clicks go to the title bar below */
    .edge.skip { stroke-linecap: round; }
  `;

  const canvas = document.getElementById('canvas');
  const stage = document.getElementById('stage');
  const svgStyle = el('style');
  svgStyle.textContent = GRAPH_CSS;
  const defs = el('defs');
  const viewport = el('g', { id: 'viewport' });
  canvas.append(svgStyle, defs, viewport);

  function el(tag, attrs, text) {
    const node = document.createElementNS(SVGNS, tag);
    if (attrs) for (const k of Object.keys(attrs)) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  const SAFE_KIND = /^[a-z_]{1,32}$/;
  const SAFE_COLOUR = /^#[0-9a-fA-F]{3,8}$/;
  const colour = (c, fallback) => (SAFE_COLOUR.test(c || '') ? c : fallback);
  function edgeLook(kind) {
    const s = style.edges[kind] || style.edges.data;
    return { colour: colour(opts.paper ? s.gray : s.colour, '#555555'), width: Number(s.width) || 1, dash: /^[\d. ]*$/.test(s.dash) ? s.dash : '' };
  }
  function fillOf(i) {
    if (opts.paper) return '#ffffff';
    return colour(style.fills[isLeaf(i) ? kindOf(i) : 'module'], '#ffffff');
  }
  (function markers() {
    for (const kind of ['data', ...style.kinds]) {
      if (!SAFE_KIND.test(kind)) continue;
      const look = edgeLook(kind);
      const m = el('marker', { id: 'mm-arrow-' + kind, viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse', markerUnits: 'userSpaceOnUse' });
      m.append(el('path', { d: 'M0,1 L10,5 L0,9 z', fill: kind === 'data' ? (paper ? '#000000' : '#7b8594') : look.colour }));
      defs.append(m);
    }
  })();

  let frames = [];
  function render(edges) {
    const frameLayer = el('g', { class: 'frames' });
    const edgeLayer = el('g', { class: 'edges' });
    const boxLayer = el('g', { class: 'boxes' });
    frames = [];
    for (const it of items) {
      if (it.type === 'root') continue;
      if (it.children) frameLayer.append(drawFrame(it));
      else boxLayer.append(drawBox(it));
    }
    const skipFirst = edges.filter((e) => e.kind === 'data').concat(edges.filter((e) => e.kind !== 'data'));
    for (const e of skipFirst) { const p = drawEdge(e); if (p) edgeLayer.append(p); }
    viewport.replaceChildren(frameLayer, edgeLayer, boxLayer);
  }
  function tagItem(g, it) {
    g.setAttribute('data-item', String(it.idx));
    g.setAttribute('data-path', itemKey(it));
    if (expandable(it)) g.setAttribute('aria-expanded', String(it.type === 'module' || it.type === 'run'));
    if (it.type === 'more') g.setAttribute('data-more', String(it.hi - it.lo + 1));
    if (it.type === 'fold' || it.type === 'run') {
      g.setAttribute('data-repeat', String(it.hi - it.lo + 1));
      g.setAttribute('data-block', blocks[it.block].name);
      if (it.opened) g.setAttribute('data-opened', 'true');
    }
    if (it.type === 'node' && isLeaf(it.node)) g.setAttribute('data-kind', kindOf(it.node));
  }
  function drawBox(it) {
    const leaf = it.type === 'node' && isLeaf(it.node);
    const io = leaf && (kindOf(it.node) === 'input' || kindOf(it.node) === 'output');
    const g = el('g', { class: 'box' + (expandable(it) ? ' expandable' : '') + (it.type === 'node' ? '' : ' ' + it.type) + (io ? ' io' : ''),
      transform: `translate(${it.x},${it.y})`, tabindex: '0', role: 'button' });
    tagItem(g, it);
    let w = it.w;
    let h = it.h;
    const fill = it.type === 'node' ? fillOf(it.node) : fillOf(0);
    if (it.type === 'fold') {
      w -= 2 * STACK;
      h -= 2 * STACK;
      for (const d of [2 * STACK, STACK]) g.append(el('rect', { class: 'stack', x: d, y: d, width: w, height: h, rx: 6, fill }));
    }
    if (it.glyph) {
      g.append(el('circle', { class: 'body', cx: w / 2, cy: h / 2, r: w / 2, fill }));
      g.append(el('text', { x: w / 2, y: h / 2 + 5, class: 't-glyph', 'text-anchor': 'middle' }, it.lines[0]));
      return g;
    }
    g.append(el('rect', { class: 'body', width: w, height: h, rx: io && !paper ? h / 2 : 6, fill }));
    const cx = io || paper ? w / 2 : 11;
    it.lines.forEach((line, k) => {
      const badge = it.badges && k === it.lines.length - 1;
      const t = el('text', { x: cx, y: 20 + LINE * k + (k ? 1 : 0), class: k === 0 ? 't-name' : badge ? 't-badge' : 't-line' });
      if (io || paper) t.setAttribute('text-anchor', 'middle');
      if (badge) drawBadges(t, it.badges); else t.textContent = line;
      g.append(t);
    });
    return g;
  }
  function drawBadges(text, badges) {
    text.append(el('tspan', { fill: '#4a5563' }, '\u21B7 '));
    Object.keys(badges).forEach((kind, k) => {
      if (k) text.append(el('tspan', { fill: '#4a5563' }, ' \u00b7 '));
      text.append(el('tspan', { fill: edgeLook(kind).colour }, `${badges[kind]} ${kind}`));
    });
  }
  function drawFrame(it) {
    const g = el('g', { class: 'cluster' + (it.type === 'run' ? ' run' : '') + (it.opened ? ' opened' : ''), transform: `translate(${it.x},${it.y})` });
    tagItem(g, it);
    const level = frames.filter((f) => f.x <= it.x && f.y <= it.y && f.x + f.w >= it.x + it.w && f.y + f.h >= it.y + it.h).length;
    frames.push(it);
    const tint = paper ? '#ffffff' : level % 2 ? '#f1f4f8' : '#f8fafc';
    g.append(el('rect', { class: 'frame', width: it.w, height: it.h, rx: 8, fill: tint }));
    const hdr = el('g', { class: 'hdr', tabindex: '0', role: 'button' });
    hdr.append(el('rect', { width: it.w, height: HEADER, rx: 8 }), el('rect', { y: HEADER - 8, width: it.w, height: 8 }));
    const [title, right] = fitTitle(it.title, it.w - 20);
    hdr.append(el('text', { x: 10, y: 16, class: 't-name' }, title));
    if (right) hdr.append(el('text', { x: it.w - 10, y: 16, class: 't-line', 'text-anchor': 'end' }, right));
    g.append(hdr);
    return g;
  }
  function fitTitle([title, right], room) { // drop the right part, then shorten the title
    if (right && textWidth(title, NAME_FONT) + textWidth(right, TEXT_FONT) + 16 <= room) return [title, right];
    while (title.length > 4 && textWidth(title, NAME_FONT) > room) title = title.slice(0, -2) + ELLIPSIS;
    return [title, ''];
  }
  function drawEdge(e) {
    if (!e.sections || !e.sections.length) return null;
    let d = '';
    for (const s of e.sections) {
      d += `M${s.startPoint.x},${s.startPoint.y}`;
      for (const p of s.bendPoints || []) d += `L${p.x},${p.y}`;
      d += `L${s.endPoint.x},${s.endPoint.y}`;
    }
    const kind = SAFE_KIND.test(e.kind) ? e.kind : 'data';
    const path = el('path', { class: kind !== 'data' ? 'edge skip' : 'edge data', d, 'marker-end': `url(#mm-arrow-${kind})` });
    path.setAttribute('data-src', itemKey(items[e.src]));
    path.setAttribute('data-dst', itemKey(items[e.dst]));
    if (kind !== 'data') {
      const look = edgeLook(kind);
      path.setAttribute('data-skip', kind);
      path.setAttribute('stroke', look.colour);
      path.setAttribute('stroke-width', String(look.width));
      if (look.dash) path.setAttribute('stroke-dasharray', look.dash);
      const s = e.skips[0];
      path.append(el('title', {}, `${kind} skip: ${names[s.fork]} \u2192 ${names[s.merge]}`));
    }
    return path;
  }

  // ------------------------------------------------------------------ the legend and the header

  function drawLegend() {
    const box = document.getElementById('legend');
    box.replaceChildren();
    const counts = {};
    for (const s of skips) counts[s.kind] = (counts[s.kind] || 0) + 1;
    const kinds = style.kinds.filter((k) => counts[k] && SAFE_KIND.test(k));
    if (!opts.legend || !kinds.length) return;
    box.append(div('lg-title', 'Skip connections'));
    for (const kind of kinds) {
      const look = edgeLook(kind);
      const row = div('lg-row');
      const sample = el('svg', { width: '34', height: '10', 'aria-hidden': 'true' });
      sample.append(el('line', { x1: 1, y1: 5, x2: 33, y2: 5, stroke: look.colour, 'stroke-width': look.width, 'stroke-dasharray': look.dash }));
      const words = style.words[kind] ? ` \u2014 ${style.words[kind]}` : '';
      row.append(sample, span('', kind + words), span('lg-count', `(${counts[kind]})`));
      row.setAttribute('data-skip-kind', kind);
      box.append(row);
    }
  }
  function div(cls, text) {
    const d = document.createElement('div');
    if (cls) d.className = cls;
    if (text !== undefined) d.textContent = text;
    return d;
  }
  function span(cls, text) {
    const s = document.createElement('span');
    if (cls) s.className = cls;
    s.textContent = text;
    return s;
  }
  function drawHeading() {
    document.getElementById('title').textContent = data.title;
    const facts = [data.framework + (data.converter ? ` via ${data.converter}` : ''), plural(leafCount(0), 'layer'),
      plural(data.ops, 'op'), `${compact(data.params)} params`, plural(skips.length, 'skip')];
    document.getElementById('facts').textContent = facts.join(' \u00b7 ');
  }

  // ------------------------------------------------------------------ the info panel

  const info = document.getElementById('info');
  let selectedKey = null;
  let hovered = null;

  function row(dl, term, value) {
    if (value === '' || value === null || value === undefined) return;
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    if (value instanceof Node) dd.append(value); else dd.textContent = String(value);
    dl.append(dt, dd);
  }
  function linkTo(i, label) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'link';
    b.textContent = label || names[i];
    b.addEventListener('click', () => reveal(i));
    return b;
  }
  function section(title) {
    const h = document.createElement('h3');
    h.textContent = title;
    info.append(h);
  }
  function showInfo(it) {
    info.replaceChildren();
    if (!it || it.type === 'root') { overview(); return; }
    if (it.type === 'fold' || it.type === 'run') { runInfo(it); return; }
    if (it.type === 'more') { moreInfo(it); return; }
    const i = it.node;
    const h = document.createElement('h2');
    h.textContent = names[i];
    info.append(h, div('i-sub', isLeaf(i) ? [str(data.cls[i]), kindOf(i)].filter(Boolean).join(' \u00b7 ') : `${str(data.cls[i]) || 'module'} \u00b7 module`));
    const dl = document.createElement('dl');
    row(dl, 'In', ancestry(i).join(' / ') || 'the model');
    if (!isLeaf(i)) row(dl, 'Layers', exact(leafCount(i)));
    row(dl, 'Output shape', outputShape(i) || 'unknown');
    row(dl, 'Parameters', exact(data.nparams[i]));
    if (data.macs) row(dl, 'MACs', macsOf(i));
    if (isLeaf(i)) row(dl, 'Settings', str(data.hyper[i]));
    info.append(dl);
    if (isLeaf(i)) { neighbours(i); skipInfo(i); } else moduleSkips(i);
    info.append(div('i-hint', hintFor(it)));
  }
  function macsOf(i) {
    let sum = 0;
    let known = false;
    for (let x = i; x < end[i]; x++) if (isLeaf(x) && data.macs[x] !== null) { sum += data.macs[x]; known = true; }
    return known ? exact(sum) : 'unknown';
  }
  function neighbours(i) {
    for (const [title, adj] of [['Inputs', pred], ['Outputs', succ]]) {
      const list = Array.from(adj.of(i));
      if (!list.length) continue;
      section(title);
      const ul = document.createElement('ul');
      for (const j of list.slice(0, 12)) { const li = document.createElement('li'); li.append(linkTo(j)); ul.append(li); }
      if (list.length > 12) { const li = document.createElement('li'); li.textContent = `${list.length - 12} more`; ul.append(li); }
      info.append(ul);
    }
  }
  function skipInfo(i) {
    const mine = skipsAt.get(i) || [];
    const notes = data.notes[i] || [];
    if (!mine.length && !notes.length) return;
    section('Skip connections');
    for (const s of mine) {
      const d = div('i-skip');
      d.style.borderColor = edgeLook(s.kind).colour;
      const role = s.merge === i ? 'Merge of' : s.fork === i ? 'Fork of' : 'On the shortcut of';
      d.append(span('', `${role} ${/^[aeiou]/.test(s.kind) ? 'an' : 'a'} ${s.kind} skip: `), linkTo(s.fork), span('', ' \u2192 '), linkTo(s.merge));
      const via = s.shortcut.length ? `shortcut through ${s.shortcut.map((x) => names[x]).join(', ')}` : 'the tensor arrives unchanged';
      d.append(div('', `${via}; body of ${plural(s.body.length, 'layer')}.`));
      info.append(d);
    }
    for (const reason of notes) info.append(div('i-note', 'Not a skip connection: ' + reason));
  }
  function moduleSkips(m) {
    const counts = {};
    for (const s of skips) if (inside(s.merge, m)) counts[s.kind] = (counts[s.kind] || 0) + 1;
    let rejected = 0;
    for (const k of Object.keys(data.notes)) if (inside(Number(k), m)) rejected++;
    if (!Object.keys(counts).length && !rejected) return;
    section('Skip connections inside');
    const ul = document.createElement('ul');
    for (const k of Object.keys(counts)) { const li = document.createElement('li'); li.textContent = `${counts[k]} ${k}`; ul.append(li); }
    if (rejected) { const li = document.createElement('li'); li.textContent = `${plural(rejected, 'merge')} that are not skips (see each merge)`; ul.append(li); }
    info.append(ul);
  }
  function runInfo(it) {
    const b = blocks[it.block];
    const n = it.hi - it.lo + 1;
    const h = document.createElement('h2');
    h.textContent = `${b.name} \u00d7 ${exact(n)}`;
    info.append(h, div('i-sub', n === b.count ? 'a run of repeated blocks' : `${exact(n)} of ${exact(b.count)} repetitions, folded`));
    const dl = document.createElement('dl');
    row(dl, 'In', [...ancestry(b.units[0][0])].join(' / ') || 'the model');
    row(dl, 'From', memberName(it.block, it.lo));
    row(dl, 'To', memberName(it.block, it.hi));
    row(dl, 'Parameters', `${exact(runParams(it.block, it.lo, it.hi))} (${exact(runParams(it.block, it.lo, it.lo))} each)`);
    const last = b.units[it.hi][b.units[it.hi].length - 1];
    row(dl, 'Output shape', outputShape(last) || 'unknown');
    info.append(dl, div('i-hint', hintFor(it)));
  }
  function moreInfo(it) {
    const list = entriesOf(it.owner);
    const h = document.createElement('h2');
    h.textContent = `${plural(moreLayers(it), 'more layer')}`;
    info.append(h, div('i-sub', `not drawn yet, in ${it.owner ? names[it.owner] : 'the model'}`));
    const dl = document.createElement('dl');
    row(dl, 'From', names[list[it.lo].child]);
    row(dl, 'To', names[list[it.hi].child]);
    info.append(dl, div('i-hint', hintFor(it)));
  }
  function hintFor(it) {
    if (it.type === 'more') return `Click to draw ${exact(Math.min(opts.window, it.hi - it.lo + 1))} more of them.`;
    if (it.type === 'fold') return 'Click to unfold the repetitions.';
    if (it.type === 'run') return 'Click the title bar to fold the run again.';
    if (it.type === 'module') return 'Click the title bar to collapse.';
    if (!isLeaf(it.node)) return 'Click to expand.';
    return '';
  }
  function overview() {
    const h = document.createElement('h2');
    h.textContent = data.title;
    info.append(h, div('i-sub', `${data.framework} model`));
    const dl = document.createElement('dl');
    row(dl, 'Layers', exact(leafCount(0)));
    row(dl, 'ONNX ops', exact(data.ops));
    row(dl, 'Parameters', exact(data.params));
    const counts = {};
    for (const s of skips) counts[s.kind] = (counts[s.kind] || 0) + 1;
    row(dl, 'Skips', Object.keys(counts).map((k) => `${counts[k]} ${k}`).join(', ') || 'none');
    row(dl, 'Repeated', blocks.map((b) => `${b.name} \u00d7 ${b.count}`).join(', ') || 'none');
    if (init.page) row(dl, 'Opened at', `the figure fitted to ${init.page}`);
    info.append(dl);
    info.append(div('i-hint', 'Click a box to expand it, a frame\u2019s title bar to collapse it. Hover or click for details. ' +
      'Press / to search; drag to pan, scroll to zoom.'));
  }

  // ------------------------------------------------------------------ pan and zoom

  const view = { x: 0, y: 0, k: 1 };
  let graphSize = { w: 1, h: 1 };
  const applyView = () => viewport.setAttribute('transform', `translate(${view.x},${view.y}) scale(${view.k})`);
  function zoomAt(px, py, factor) {
    const k = Math.min(4, Math.max(0.05, view.k * factor));
    view.x = px - (px - view.x) * (k / view.k);
    view.y = py - (py - view.y) * (k / view.k);
    view.k = k;
    applyView();
  }
  function fit(readable) {
    const W = stage.clientWidth;
    const H = stage.clientHeight;
    const fitK = Math.min((W - 32) / graphSize.w, (H - 32) / graphSize.h, 1);
    view.k = readable ? Math.max(fitK, 0.85) : fitK; // readable: text stays legible, the start in view
    view.x = graphSize.w * view.k <= W - 32 ? (W - graphSize.w * view.k) / 2 : 16;
    view.y = graphSize.h * view.k <= H - 32 ? (H - graphSize.h * view.k) / 2 : 16;
    applyView();
  }
  function centerOn(it) {
    const W = stage.clientWidth;
    const H = stage.clientHeight;
    if (it.w * view.k > W * 0.9 || it.h * view.k > H * 0.9) view.k = Math.max(0.2, Math.min((W * 0.9) / it.w, (H * 0.9) / it.h));
    if (view.k < 0.5 && it.w < W) view.k = 0.8;
    view.x = W / 2 - (it.x + it.w / 2) * view.k;
    view.y = H / 2 - (it.y + it.h / 2) * view.k;
    applyView();
  }

  function bringIntoView(it) { // pan (not zoom) so that a box, or a frame's title bar, is on screen
    const W = stage.clientWidth;
    const H = stage.clientHeight;
    const h = it.children ? HEADER : it.h;
    const sx = view.x + it.x * view.k;
    const sy = view.y + it.y * view.k;
    if (sx >= 0 && sy >= 0 && sx + it.w * view.k <= W && sy + h * view.k <= H) return;
    view.x = it.w * view.k <= W ? W / 2 - (it.x + it.w / 2) * view.k : 16 - it.x * view.k;
    view.y = H / 3 - it.y * view.k;
    applyView();
  }

  let drag = null;
  let dragged = false;
  canvas.addEventListener('pointerdown', (ev) => {
    if (ev.button !== 0) return;
    drag = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y, id: ev.pointerId };
    dragged = false;
  });
  canvas.addEventListener('pointermove', (ev) => {
    if (!drag) return;
    const dx = ev.clientX - drag.x;
    const dy = ev.clientY - drag.y;
    if (!dragged && Math.abs(dx) + Math.abs(dy) < 4) return;
    if (!dragged) { dragged = true; canvas.classList.add('panning'); canvas.setPointerCapture(drag.id); }
    view.x = drag.vx + dx;
    view.y = drag.vy + dy;
    applyView();
  });
  const endDrag = () => { drag = null; canvas.classList.remove('panning'); };
  canvas.addEventListener('pointerup', endDrag);
  canvas.addEventListener('pointercancel', endDrag);
  canvas.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    const r = canvas.getBoundingClientRect();
    zoomAt(ev.clientX - r.left, ev.clientY - r.top, Math.exp(-ev.deltaY * (ev.deltaMode ? 0.05 : 0.0015)));
  }, { passive: false });

  // ------------------------------------------------------------------ acting on the drawing

  const elk = new ELK(); // eslint-disable-line no-undef
  const timings = { parse: 0, open: 0, last: 0, layout: 0, boxes: 0 };
  let renders = 0;
  let pending = null;

  async function redraw(anchor) {
    const start = performance.now();
    const root = build();
    const edges = connect();
    const graph = elkGraph(root, edges);
    const request = pending = {};
    const before = performance.now();
    const laid = await elk.layout(graph);
    if (request !== pending) return;
    timings.layout = performance.now() - before;
    readLayout(laid, edges);
    graphSize = { w: laid.width, h: laid.height };
    render(edges);
    if (anchor) keepAnchor(anchor); else fit(true);
    markSelection();
    document.getElementById('status').textContent =
      `${plural(items.filter((it) => !it.children).length, 'box')} \u00b7 ${plural(edges.length, 'edge')} \u00b7 layout ${Math.round(timings.layout)} ms`;
    await painted();
    timings.last = performance.now() - start;
    timings.boxes = items.length - 1;
    renders++;
    if (!timings.open) timings.open = performance.now(); // since the navigation started
    document.body.setAttribute('data-renders', String(renders));
  }
  function painted() { // after the browser has drawn the frame
    return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  }
  function anchorOf(it) { // where an item is on screen now, to keep it there after a redraw
    return { key: itemKey(it), sx: view.x + it.x * view.k, sy: view.y + it.y * view.k };
  }
  function keepAnchor(anchor) {
    const it = items.find((x) => x.type !== 'root' && itemKey(x) === anchor.key);
    if (!it) return;
    view.x = anchor.sx - it.x * view.k;
    view.y = anchor.sy - it.y * view.k;
    applyView();
  }
  function itemAt(target) {
    const g = target.closest && target.closest('[data-item]');
    return g ? items[Number(g.getAttribute('data-item'))] : null;
  }

  function toggle(it) {
    const anchor = anchorOf(it);
    if (it.type === 'more') {
      const w = windowOf(it.owner);
      const add = Math.min(opts.window, it.hi - it.lo + 1);
      windows.set(it.owner, it.lo < w.start ? { start: w.start - add, count: w.count + add } : { start: w.start, count: w.count + add });
    } else if (it.type === 'fold') {
      runs.set(it.block, firstPage(it.block, it.lo, it.hi));
    } else if (it.type === 'run') {
      runs.delete(it.block);
      opened.delete(it.block);
    } else if (it.type === 'module') {
      expanded[it.node] = 0;
    } else if (it.type === 'node' && !isLeaf(it.node)) {
      expanded[it.node] = 1;
    } else {
      return null;
    }
    return redraw(anchor);
  }
  function select(it) {
    selectedKey = it ? itemKey(it) : null;
    markSelection();
    showInfo(it);
  }
  function markSelection() {
    for (const g of viewport.querySelectorAll('.selected')) g.classList.remove('selected');
    if (selectedKey === null) return;
    const it = items.find((x) => x.type !== 'root' && itemKey(x) === selectedKey);
    if (it) viewport.querySelector(`[data-item="${it.idx}"]`).classList.add('selected');
  }
  const selectedItem = () => items.find((x) => x.type !== 'root' && itemKey(x) === selectedKey) || null;

  canvas.addEventListener('click', (ev) => {
    if (dragged) { dragged = false; return; }
    const it = itemAt(ev.target);
    if (!it) { select(null); return; }
    const onHeader = ev.target.closest('.hdr');
    select(it);
    if (it.children && !onHeader) return; // a click inside a frame only selects it
    toggle(it);
  });
  canvas.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter' && ev.key !== ' ') return;
    const it = itemAt(ev.target);
    if (!it) return;
    ev.preventDefault();
    select(it);
    toggle(it);
  });
  canvas.addEventListener('focusin', (ev) => { // keyboard users (Tab) follow the focus
    const it = itemAt(ev.target);
    if (it) bringIntoView(it);
  });
  canvas.addEventListener('pointerover', (ev) => {
    const it = itemAt(ev.target);
    if (it && it !== hovered) { hovered = it; showInfo(it); }
  });
  canvas.addEventListener('pointerout', (ev) => {
    if (hovered && !itemAt(ev.relatedTarget || document.body)) { hovered = null; showInfo(selectedItem()); }
  });

  async function reveal(i) {
    for (let a = parent[i]; a > 0; a = parent[a]) expanded[a] = 1;
    for (let x = i; x > 0; x = parent[x]) { // inside each module's window of entries
      const list = entriesOf(parent[x]);
      const b = childBlock[x];
      const k = list.findIndex((e) => (b < 0 ? e.child === x : e.block === b));
      const w = windowOf(parent[x]);
      if (k < w.start || k >= w.start + w.count) {
        windows.set(parent[x], { start: Math.max(0, k - (opts.window >> 1)), count: opts.window });
      }
    }
    for (let x = i; x > 0; x = parent[x]) {
      const b = childBlock[x];
      if (b < 0) continue;
      const shown = runs.get(b) || new Set();
      shown.add(childUnit[x]);
      runs.set(b, shown);
    }
    await redraw(null);
    const it = items[rep[i]];
    select(it);
    centerOn(it);
    const g = viewport.querySelector(`[data-item="${it.idx}"]`);
    g.classList.add('found');
    setTimeout(() => g.classList.remove('found'), 1600);
    g.focus({ preventScroll: true });
  }

  // ------------------------------------------------------------------ search

  const search = document.getElementById('search');
  const matchList = document.getElementById('matches');
  let lowered = null;
  let matches = [];
  let active = 0;

  function find(query) {
    const q = query.trim().toLowerCase();
    if (!q) return [];
    if (!lowered) lowered = names.map((n) => n.toLowerCase());
    const whole = [];
    const prefix = [];
    const part = [];
    for (let i = 1; i < N && whole.length + prefix.length < 50; i++) {
      if (hidden[i]) continue; // the paper style's plumbing has no box to show
      const n = lowered[i];
      if (n === q) whole.push(i);
      else if (n.startsWith(q) || shortName(i).toLowerCase().startsWith(q)) prefix.push(i);
      else if (part.length < 50 && n.includes(q)) part.push(i);
    }
    return whole.concat(prefix, part).slice(0, 30);
  }
  function showMatches() {
    matches = find(search.value);
    active = 0;
    matchList.replaceChildren();
    if (!search.value.trim()) { matchList.hidden = true; return; }
    if (!matches.length) {
      const li = document.createElement('li');
      li.className = 'm-none';
      li.textContent = 'No layer or module by that name';
      matchList.append(li);
    }
    matches.forEach((i, k) => {
      const li = document.createElement('li');
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', String(k === active));
      li.append(span('m-name', names[i]), span('m-type', str(data.cls[i]) || kindOf(i)));
      li.addEventListener('mousedown', (ev) => { ev.preventDefault(); choose(k); });
      matchList.append(li);
    });
    matchList.hidden = false;
  }
  function choose(k) {
    if (!matches.length) return;
    const i = matches[Math.max(0, Math.min(k, matches.length - 1))];
    matchList.hidden = true;
    search.blur();
    reveal(i);
  }
  search.addEventListener('input', showMatches);
  search.addEventListener('focus', showMatches);
  search.addEventListener('blur', () => { matchList.hidden = true; });
  search.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') { ev.preventDefault(); choose(active); }
    else if (ev.key === 'Escape') { search.value = ''; showMatches(); search.blur(); }
    else if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      active = Math.max(0, Math.min(matches.length - 1, active + (ev.key === 'ArrowDown' ? 1 : -1)));
      matchList.querySelectorAll('li').forEach((li, k) => li.setAttribute('aria-selected', String(k === active)));
    }
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.target === search || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const W = stage.clientWidth / 2;
    const H = stage.clientHeight / 2;
    if (ev.key === '/') { ev.preventDefault(); search.focus(); search.select(); }
    else if (ev.key === '+' || ev.key === '=') zoomAt(W, H, 1.25);
    else if (ev.key === '-') zoomAt(W, H, 0.8);
    else if (ev.key === '0') fit(false);
    else if (ev.key === 'Escape') select(null);
  });

  // ------------------------------------------------------------------ export

  function exportSvg() {
    const margin = 16;
    const legendRows = opts.legend ? style.kinds.filter((k) => SAFE_KIND.test(k) && skips.some((s) => s.kind === k)) : [];
    const caption = paper && paper.title ? 24 : 0; // the paper figure's title above it, as Graphviz draws it
    const W = Math.ceil(graphSize.w + 2 * margin);
    const H = Math.ceil(graphSize.h + 2 * margin + caption + (legendRows.length ? 22 + 18 * legendRows.length : 0));
    const svg = el('svg', { xmlns: SVGNS, width: W, height: H, viewBox: `0 0 ${W} ${H}` });
    svg.append(el('title', {}, data.title));
    const css = el('style');
    css.textContent = GRAPH_CSS;
    svg.append(css, defs.cloneNode(true), el('rect', { width: W, height: H, fill: '#ffffff' }));
    const g = viewport.cloneNode(true);
    g.setAttribute('transform', `translate(${margin},${margin + caption})`);
    g.removeAttribute('id');
    for (const x of g.querySelectorAll('.selected, .found')) x.classList.remove('selected', 'found');
    if (caption) svg.append(el('text', { x: W / 2, y: margin + 12, class: 't-caption', 'text-anchor': 'middle' }, paper.title));
    svg.append(g);
    legendRows.forEach((kind, k) => {
      const y = graphSize.h + 2 * margin + caption + 14 + 18 * k;
      const look = edgeLook(kind);
      if (k === 0) svg.append(el('text', { x: margin, y: y - 4, class: 't-name' }, 'Skip connections'));
      svg.append(el('line', { x1: margin, y1: y + 10, x2: margin + 34, y2: y + 10, stroke: look.colour, 'stroke-width': look.width, 'stroke-dasharray': look.dash }));
      svg.append(el('text', { x: margin + 42, y: y + 14, class: 't-line' }, kind));
    });
    return { text: new XMLSerializer().serializeToString(svg), w: W, h: H };
  }
  function fileStem() {
    return (data.title || 'model').replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[._]+/, '').slice(0, 60) || 'model';
  }
  function download(blob, name) {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }
  document.getElementById('export-svg').addEventListener('click', () => {
    download(new Blob([exportSvg().text], { type: 'image/svg+xml' }), fileStem() + '.svg');
  });
  document.getElementById('export-png').addEventListener('click', () => {
    const { text, w, h } = exportSvg();
    const scale = Math.max(0.1, Math.min(2, 16000 / Math.max(w, h)));
    const img = new Image();
    const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
    img.onload = () => {
      const c = document.createElement('canvas');
      c.width = Math.round(w * scale);
      c.height = Math.round(h * scale);
      const ctx = c.getContext('2d');
      ctx.scale(scale, scale);
      ctx.drawImage(img, 0, 0);
      URL.revokeObjectURL(url);
      c.toBlob((blob) => download(blob, fileStem() + '.png'), 'image/png');
    };
    img.onerror = () => { URL.revokeObjectURL(url); console.warn('modelmap: the PNG export failed'); };
    img.src = url;
  });
  document.getElementById('zoom-in').addEventListener('click', () => zoomAt(stage.clientWidth / 2, stage.clientHeight / 2, 1.25));
  document.getElementById('zoom-out').addEventListener('click', () => zoomAt(stage.clientWidth / 2, stage.clientHeight / 2, 0.8));
  document.getElementById('fit').addEventListener('click', () => fit(false));
  document.getElementById('collapse-all').addEventListener('click', () => {
    expanded.fill(0);
    expanded[0] = 1;
    runs.clear();
    opened.clear();
    windows.clear();
    redraw(null);
  });

  // ------------------------------------------------------------------ start

  timings.parse = performance.now() - t0;
  drawHeading();
  drawLegend();
  showInfo(null);
  initialState();
  window.modelmapView = { timings };
  redraw(null).catch((err) => {
    document.getElementById('status').textContent = 'layout failed: ' + String(err && err.message || err);
    console.error(err);
  });
})();
