// xsh --report: links the diagram, the logs and the milestones of one run.
// Reads the JSON block #xsh-data (docs/report.md); fetches nothing.
(function () {
  'use strict';

  var D = JSON.parse(document.getElementById('xsh-data').textContent);
  var SETUP = -1;

  // ---- the data, indexed ----

  var calls = new Map();
  D.calls.forEach(function (c) {
    calls.set(c[0], {
      id: c[0], t: c[1], end: c[2], ctx: c[3], probe: D.probes[c[4]],
      parent: c[5], hop: c[6], place: c[7], domid: c[8], args: c[9]
    });
  });
  var hops = new Map();
  D.hops.forEach(function (h) {
    hops.set(h[0], {
      id: h[0], t: h[1], ctx: h[2], probe: h[3] < 0 ? null : D.probes[h[3]],
      what: h[4], parent: h[5], place: h[6]
    });
  });
  var steps = D.steps.map(function (s, i) {
    return {
      i: i, t: s[0], from: s[1], to: s[2], text: s[3],
      funcs: s[4].map(function (p) { return D.probes[p]; }), more: s[5]
    };
  });
  var logs = D.logs.map(function (l, i) {
    var lines = l.text.split('\n');
    if (lines.length && lines[lines.length - 1] === '') { lines.pop(); }
    return {
      i: i, name: l.name, kind: l.kind, domid: l.domid < 0 ? null : l.domid,
      lines: lines, origins: l.origins, view: null
    };
  });

  var KINDS = [
    ['toolstack', 'toolstack'], ['qemu', 'qemu-dm'],
    ['xen', 'Xen console'], ['console', 'guest console']
  ];

  // The call that wrote line n of log L (null: none recorded).
  function lineCall(L, n) {
    var o = L.origins, lo = 0, hi = o.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (o[mid][0] <= n) { lo = mid + 1; } else { hi = mid; }
    }
    if (lo === 0) { return null; }
    var id = o[lo - 1][1];
    return id < 0 ? null : (calls.get(id) || null);
  }

  // place -> [{log, from, to}] line ranges, built once.
  var rangesByPlace = null;
  function ranges(place) {
    if (!rangesByPlace) {
      rangesByPlace = new Map();
      logs.forEach(function (L) {
        L.origins.forEach(function (o, k) {
          if (o[1] < 0) { return; }
          var c = calls.get(o[1]);
          if (!c) { return; }
          var to = k + 1 < L.origins.length ? L.origins[k + 1][0] : L.lines.length;
          if (to <= o[0]) { return; }
          var list = rangesByPlace.get(c.place);
          if (!list) { list = []; rangesByPlace.set(c.place, list); }
          list.push({ log: L.i, from: o[0], to: to });
        });
      });
    }
    return rangesByPlace.get(place) || [];
  }

  // ---- formatting ----

  function timeLabel(ns) {
    if (ns < 1e9) { return (ns / 1e6).toFixed(3) + ' ms'; }
    return (ns / 1e9).toFixed(3) + ' s';
  }
  function gapLabel(ns) {
    if (ns < 1e6) { return Math.round(ns / 1e3) + ' µs'; }
    return timeLabel(ns);
  }
  function secs(ns) { return (ns / 1e9).toFixed(6); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function ctxName(id) { var c = D.ctxs[id]; return c ? c[0] : '?'; }
  function ctxLayer(id) { var c = D.ctxs[id]; return c ? c[1] : '?'; }
  function callText(c) { return c.probe + '(' + c.args + ')'; }
  function placeName(p) {
    if (p === SETUP) { return 'the creation band'; }
    if (p >= 0) { return 'step ' + (p + 1); }
    return 'no step';
  }

  // ---- the diagram ----

  // The first band of the diagram is in the page; the others (a long
  // run's) are added when they come near the view, or when a step of
  // theirs is selected, or before printing.
  var svgwrap = document.getElementById('svgwrap');
  var stepEls = new Map();
  var stepMarks = new Map();  // place -> [class], kept for bands not drawn yet
  function adopt(root) {
    root.querySelectorAll('g.step').forEach(function (g) {
      var p = placeOf(g);
      stepEls.set(p, g);
      g.setAttribute('tabindex', '0');
      g.setAttribute('role', 'button');
      var s = steps[p];
      g.setAttribute('aria-label', p === SETUP ? D.setup : 'step ' + (p + 1) + ': ' + (s ? s.text : ''));
      (stepMarks.get(p) || []).forEach(function (cls) { mark(g, cls); });
    });
  }
  adopt(svgwrap);
  // The lanes' names stay in view over the diagram as it scrolls.
  var lanesBar = el('div', 'lanes-bar');
  lanesBar.setAttribute('aria-hidden', 'true');
  (D.lane_x || []).forEach(function (x, i) {
    var s = el('span', null, D.lanes[i]);
    s.style.left = x + 'px';
    lanesBar.appendChild(s);
  });
  var firstSvg = svgwrap.querySelector('svg');
  if (firstSvg) { lanesBar.style.width = firstSvg.getAttribute('width') + 'px'; }
  svgwrap.insertBefore(lanesBar, svgwrap.firstChild);
  // Only once the diagram's own lane heads are scrolled out of view.
  function lanesBarShown() { lanesBar.style.visibility = svgwrap.scrollTop > 100 ? 'visible' : 'hidden'; }
  svgwrap.addEventListener('scroll', lanesBarShown, { passive: true });
  lanesBarShown();
  var bands = (D.bands || []).map(function (b, k) {
    var m = /height="(\d+)"/.exec(b[1]), w = /width="(\d+)"/.exec(b[1]);
    var ph = el('div', 'band-ph');
    ph.style.height = (m ? m[1] : 0) + 'px';
    ph.style.width = (w ? w[1] : 0) + 'px';
    ph.setAttribute('data-band', String(k));
    svgwrap.appendChild(ph);
    return { from: b[0], svg: b[1], ph: ph, drawn: false };
  });
  function drawSvgBand(k) {
    var b = bands[k];
    if (!b || b.drawn) { return; }
    b.drawn = true;
    b.ph.innerHTML = b.svg;
    b.ph.style.height = '';
    adopt(b.ph);
  }
  function stepEl(p) {
    if (!stepEls.has(p) && p >= 0) {
      for (var k = bands.length - 1; k >= 0; k--) {
        if (bands[k].from <= p) { drawSvgBand(k); break; }
      }
    }
    return stepEls.get(p);
  }
  if (bands.length && window.IntersectionObserver) {
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { drawSvgBand(Number(e.target.getAttribute('data-band'))); io.unobserve(e.target); }
      });
    }, { root: svgwrap, rootMargin: '1200px 0px' });
    bands.forEach(function (b) { io.observe(b.ph); });
  } else {
    bands.forEach(function (b, k) { drawSvgBand(k); });
  }
  window.addEventListener('beforeprint', function () { bands.forEach(function (b, k) { drawSvgBand(k); }); });
  svgwrap.addEventListener('click', function (e) {
    var g = e.target.closest && e.target.closest('g.step');
    if (g) { selectStep(placeOf(g)); }
  });
  svgwrap.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' || e.key === ' ') {
      var g = e.target.closest && e.target.closest('g.step');
      if (g) { e.preventDefault(); selectStep(placeOf(g)); }
    }
  });
  function placeOf(g) {
    var v = g.getAttribute('data-step');
    return v === 'setup' ? SETUP : Number(v);
  }
  function showStep(p) {
    var g = stepEl(p);
    if (!g) { return; }
    var r = g.getBoundingClientRect(), w = svgwrap.getBoundingClientRect();
    var top = r.top - w.top + svgwrap.scrollTop, bottom = top + r.height;
    if (top < svgwrap.scrollTop || bottom > svgwrap.scrollTop + svgwrap.clientHeight) {
      svgwrap.scrollTop = Math.max(0, top - svgwrap.clientHeight / 3);
    }
  }

  // ---- the logs ----

  var cols = [];
  var logcols = document.getElementById('logcols');
  KINDS.forEach(function (k) {
    var mine = logs.filter(function (L) { return L.kind === k[0]; });
    if (!mine.length) { return; }
    var col = { kind: k[0], logs: mine, shown: null };
    var box = el('div', 'logcol k-' + k[0]);
    var head = el('header');
    head.appendChild(el('b', null, k[1]));
    var sel = el('select');
    sel.setAttribute('aria-label', k[1] + ' log');
    mine.forEach(function (L) {
      var o = el('option', null, L.name);
      o.value = String(L.i);
      sel.appendChild(o);
    });
    sel.addEventListener('change', function () { show(col, logs[Number(sel.value)]); });
    head.appendChild(sel);
    col.count = el('span', 'count muted');
    head.appendChild(col.count);
    box.appendChild(head);
    col.body = el('div', 'log');
    col.body.setAttribute('tabindex', '0');
    col.body.addEventListener('click', function (e) {
      var l = e.target.closest && e.target.closest('.l');
      if (l && col.shown) { selectLine(col.shown, Number(l.getAttribute('data-n'))); }
    });
    box.appendChild(col.body);
    col.select = sel;
    logcols.appendChild(box);
    cols.push(col);
  });

  var CHUNK = 256;
  function build(L) {
    var root = el('div', 'lines');
    var els = new Array(L.lines.length);
    var chunk = null;
    for (var n = 0; n < L.lines.length; n++) {
      if (n % CHUNK === 0) {
        chunk = el('div', 'chunk');
        var left = Math.min(CHUNK, L.lines.length - n);
        chunk.style.containIntrinsicSize = 'auto ' + left * 16 + 'px';
        root.appendChild(chunk);
      }
      var d = el('div', 'l');
      d.setAttribute('data-n', String(n));
      d.appendChild(el('span', 'n', String(n + 1)));
      d.appendChild(document.createTextNode(L.lines[n]));
      if (!lineCall(L, n)) { d.classList.add('nolink'); }
      els[n] = d;
      chunk.appendChild(d);
    }
    if (!L.lines.length) { root.appendChild(el('div', 'empty', '(empty)')); }
    L.view = { root: root, els: els };
    applyMarks(L);
  }
  function colOf(L) {
    for (var i = 0; i < cols.length; i++) { if (cols[i].kind === L.kind) { return cols[i]; } }
    return null;
  }
  function show(col, L) {
    if (col.shown === L) { return; }
    if (!L.view) { build(L); }
    col.body.textContent = '';
    col.body.appendChild(L.view.root);
    col.body.scrollTop = 0;
    col.shown = L;
    col.select.value = String(L.i);
    col.count.textContent = L.lines.length + ' lines';
  }
  function scrollToLine(col, n) {
    var d = col.shown && col.shown.view.els[n];
    if (!d) { return; }
    // Measured on screen: a chunk of lines is its lines' offsetParent.
    var top = d.getBoundingClientRect().top - col.body.getBoundingClientRect().top + col.body.scrollTop;
    var h = col.body.clientHeight;
    if (top < col.body.scrollTop || top + 16 > col.body.scrollTop + h) {
      col.body.scrollTop = Math.max(0, top - h / 3);
    }
  }

  // ---- domains ----

  var domains = [];
  D.milestones.forEach(function (m) { if (domains.indexOf(m.domid) < 0) { domains.push(m.domid); } });
  logs.forEach(function (L) { if (L.domid !== null && domains.indexOf(L.domid) < 0) { domains.push(L.domid); } });
  function domName(d) {
    for (var i = 0; i < logs.length; i++) {
      var L = logs[i];
      if (L.domid === d && L.kind === 'qemu') { return L.name.replace(/^qemu-dm-/, '').replace(/\.log(\.\d+)?$/, ''); }
      if (L.domid === d && L.kind === 'console') { return L.name.replace(/^console-/, '').replace(/\.log(\.\d+)?$/, ''); }
    }
    return '';
  }
  var domSel = document.getElementById('domain');
  domains.forEach(function (d) {
    var o = el('option', null, d + ' ' + domName(d));
    o.value = String(d);
    domSel.appendChild(o);
  });
  if (!domains.length) { domSel.parentNode.style.display = 'none'; }
  domSel.addEventListener('change', function () { pickDomain(Number(domSel.value)); });
  function pickDomain(d) {
    domSel.value = String(d);
    cols.forEach(function (col) {
      var mine = col.logs.filter(function (L) { return L.domid === d; });
      // The domain's current file: the one not rotated away (no .N suffix).
      var cur = mine.filter(function (L) { return !/\.\d+$/.test(L.name); })[0] || mine[0];
      if (cur) { show(col, cur); }
    });
    drawMilestones(d);
  }

  // ---- milestones ----

  var band = document.getElementById('band');
  function drawMilestones(d) {
    band.textContent = '';
    var m = D.milestones.filter(function (x) { return x.domid === d; })[0];
    if (!m || !m.items.length) {
      band.appendChild(el('li', 'muted', 'No shutdown milestones for this domain.'));
      return;
    }
    m.items.forEach(function (it, k) {
      if (k > 0) { band.appendChild(el('li', 'gap', gapLabel(it[1] - m.items[k - 1][1]))); }
      var li = el('li');
      var b = el('button');
      b.appendChild(document.createTextNode(it[0]));
      b.appendChild(el('span', 't', timeLabel(it[1])));
      b.setAttribute('data-call', String(it[2]));
      b.addEventListener('click', function () {
        var c = calls.get(it[2]);
        if (c) { selectCall(c, null, it[0]); }
        band.querySelectorAll('button.sel').forEach(function (x) { x.classList.remove('sel'); });
        b.classList.add('sel');
      });
      li.appendChild(b);
      band.appendChild(li);
    });
  }

  // ---- selection ----

  var marked = [];  // [element, class]
  function mark(e, cls) { e.classList.add(cls); marked.push([e, cls]); }
  function clearMarks() {
    marked.forEach(function (m) { m[0].classList.remove(m[1]); });
    marked = [];
    stepMarks = new Map();
    band.querySelectorAll('button.sel').forEach(function (x) { x.classList.remove('sel'); });
  }
  var state = { place: null, log: null, line: null };

  // Highlights the lines of `place` in every column, switching a column
  // to the file that has them when the one shown has none.
  function highlightLines(place) {
    var rs = ranges(place);
    cols.forEach(function (col) {
      var here = rs.filter(function (r) { return logs[r.log].kind === col.kind; });
      if (!here.length) { return; }
      var inShown = here.filter(function (r) { return col.shown && r.log === col.shown.i; });
      if (!inShown.length) {
        show(col, logs[here[0].log]);
        inShown = here.filter(function (r) { return r.log === col.shown.i; });
      }
      var first = null;
      inShown.forEach(function (r) {
        for (var n = r.from; n < r.to; n++) {
          mark(col.shown.view.els[n], 'hl');
          if (first === null || n < first) { first = n; }
        }
      });
      if (first !== null && !(state.log && state.log.kind === col.kind)) { scrollToLine(col, first); }
    });
  }

  function markStep(p, cls) {
    var list = stepMarks.get(p);
    if (!list) { list = []; stepMarks.set(p, list); }
    list.push(cls);
    var g = stepEls.get(p);
    if (g) { mark(g, cls); }
  }

  function selectStep(p) {
    clearMarks();
    state = { place: p, log: null, line: null };
    markStep(p, 'sel');
    showStep(p);
    highlightLines(p);
    detailStep(p);
  }

  function selectLine(L, n) {
    if (n < 0 || n >= L.lines.length) { return; }
    clearMarks();
    var c = lineCall(L, n);
    state = { place: c ? c.place : null, log: L, line: n };
    var col = colOf(L);
    if (col && col.shown !== L) { show(col, L); }
    if (c) {
      chainOf(c).forEach(function (h) { markStep(h.place, 'chain'); });
      markStep(c.place, 'sel');
      showStep(c.place);
      highlightLines(c.place);
    }
    if (col) { mark(L.view.els[n], 'sel'); scrollToLine(col, n); }
    detailLine(L, n, c);
  }

  function selectCall(c, L, label) {
    clearMarks();
    state = { place: c.place, log: null, line: null };
    chainOf(c).forEach(function (h) { markStep(h.place, 'chain'); });
    markStep(c.place, 'sel');
    showStep(c.place);
    highlightLines(c.place);
    detailCall(c, label);
  }

  // The causal hops that led to call c, from the user's action on.
  function chainOf(c) {
    var out = [], cur = c.hop, seen = 0;
    while (cur >= 0 && seen < 10000) {
      var h = hops.get(cur);
      if (!h) { break; }
      out.push(h);
      cur = h.parent;
      seen++;
    }
    return out.reverse();
  }
  function stackOf(c) {
    var out = [], cur = c;
    while (cur) { out.push(cur); cur = cur.parent >= 0 ? calls.get(cur.parent) : null; }
    return out.reverse();
  }

  // ---- the detail panel ----

  var detail = document.getElementById('detail-body');
  function stepLink(p, text) {
    var b = el('button', 'linkish', text || placeName(p));
    b.addEventListener('click', function () { selectStep(p); });
    return b;
  }
  function detailStep(p) {
    detail.textContent = '';
    if (p === SETUP) {
      detail.appendChild(el('h3', null, 'The creation band'));
      detail.appendChild(el('p', null, D.setup));
    } else {
      var s = steps[p];
      if (!s) { return; }
      detail.appendChild(el('h3', null, 'Step ' + (p + 1) + ' at ' + timeLabel(s.t)));
      detail.appendChild(el('p', null, D.lanes[s.from] + ' → ' + D.lanes[s.to] + ': ' + s.text));
      var ran = el('p');
      ran.appendChild(document.createTextNode('Ran: '));
      s.funcs.forEach(function (f) { ran.appendChild(el('span', 'chip', f)); });
      if (s.more) { ran.appendChild(document.createTextNode(' and ' + s.more + ' more')); }
      detail.appendChild(ran);
    }
    var rs = ranges(p);
    if (!rs.length) {
      detail.appendChild(el('p', 'muted', 'No log line was written in this step.'));
      return;
    }
    // The lines it wrote, log by log, each a link to its line.
    var total = 0;
    rs.forEach(function (r) { total += r.to - r.from; });
    detail.appendChild(el('h3', null, total + ' log line' + (total === 1 ? '' : 's') + ' written in this step'));
    var t = el('table', 'lines'), shown = 0, LIMIT = 60;
    rs.forEach(function (r) {
      var L = logs[r.log];
      for (var n = r.from; n < r.to && shown < LIMIT; n++, shown++) {
        var tr = el('tr');
        var a = el('button', 'linkish', L.name + ':' + (n + 1));
        a.addEventListener('click', selectLine.bind(null, L, n));
        var td = el('td');
        td.appendChild(a);
        tr.appendChild(td);
        tr.appendChild(el('td', 'w', L.lines[n]));
        t.appendChild(tr);
      }
    });
    detail.appendChild(t);
    if (total > shown) { detail.appendChild(el('p', 'muted', 'and ' + (total - shown) + ' more, highlighted in the logs')); }
  }

  function detailCallInto(c) {
    detail.appendChild(el('h3', null, 'Call stack'));
    var ol = el('ol', 'stack');
    stackOf(c).forEach(function (f) {
      var li = el('li');
      li.appendChild(el('span', 'fn', callText(f)));
      li.appendChild(document.createTextNode(' — ' + ctxName(f.ctx) + ', ' + secs(f.t) + ' s'));
      ol.appendChild(li);
    });
    detail.appendChild(ol);
    detail.appendChild(el('h3', null, 'Causal chain (ctx.chain())'));
    var chain = chainOf(c);
    var t = el('table', 'chain');
    chain.forEach(function (h) {
      var tr = el('tr');
      tr.appendChild(el('td', null, secs(h.t)));
      tr.appendChild(el('td', null, ctxLayer(h.ctx)));
      tr.appendChild(el('td', null, ctxName(h.ctx)));
      var td = el('td', 'w');
      td.appendChild(document.createTextNode((h.probe || '-') + '  --[' + h.what + ']--> '));
      if (h.place !== -2) { td.appendChild(stepLink(h.place)); }
      tr.appendChild(td);
      t.appendChild(tr);
    });
    var last = el('tr');
    last.appendChild(el('td', null, secs(c.t)));
    last.appendChild(el('td', null, ctxLayer(c.ctx)));
    last.appendChild(el('td', null, ctxName(c.ctx)));
    last.appendChild(el('td', 'w', c.probe));
    t.appendChild(last);
    if (!chain.length) {
      detail.appendChild(el('p', 'muted', 'No hop led here: the script itself started it.'));
    }
    detail.appendChild(t);
  }

  function detailLine(L, n, c) {
    detail.textContent = '';
    detail.appendChild(el('h3', null, L.name + ', line ' + (n + 1)));
    detail.appendChild(el('pre', 'line', L.lines[n]));
    if (!c) {
      detail.appendChild(el('p', 'muted', 'No probe call wrote this line: the model wrote it outside any modelled function (xend\'s device waits, the guest\'s boot summary while the domain was built), or the script did.'));
      return;
    }
    var p = el('p');
    p.appendChild(document.createTextNode('Written by '));
    p.appendChild(el('span', 'fn', callText(c)));
    p.appendChild(document.createTextNode(' on ' + ctxName(c.ctx) + ' at ' + secs(c.t) + ' s, in '));
    p.appendChild(c.place === -2 ? document.createTextNode('no step') : stepLink(c.place));
    detail.appendChild(p);
    detailCallInto(c);
  }

  function detailCall(c, label) {
    detail.textContent = '';
    detail.appendChild(el('h3', null, label + ' at ' + timeLabel(c.t)));
    var p = el('p');
    p.appendChild(el('span', 'fn', callText(c)));
    p.appendChild(document.createTextNode(' on ' + ctxName(c.ctx) + ', in '));
    p.appendChild(c.place === -2 ? document.createTextNode('no step') : stepLink(c.place));
    detail.appendChild(p);
    detailCallInto(c);
  }

  // ---- search over every log ----

  var search = document.getElementById('search');
  var searchCount = document.getElementById('search-count');
  var matches = [], matchAt = -1, query = '', timer = null;
  function applyMarks(L) {
    if (!L.view) { return; }
    L.view.els.forEach(function (d) { d.classList.remove('match'); d.classList.remove('cur'); });
    matches.forEach(function (m, k) {
      if (m[0] === L.i) {
        L.view.els[m[1]].classList.add('match');
        if (k === matchAt) { L.view.els[m[1]].classList.add('cur'); }
      }
    });
  }
  function runSearch() {
    var q = search.value.toLowerCase();
    if (q === query) { return; }
    query = q;
    matches = [];
    matchAt = -1;
    if (q) {
      logs.forEach(function (L) {
        L.lines.forEach(function (line, n) {
          if (line.toLowerCase().indexOf(q) >= 0) { matches.push([L.i, n]); }
        });
      });
    }
    var files = new Set(matches.map(function (m) { return m[0]; }));
    searchCount.textContent = q ? matches.length + ' match' + (matches.length === 1 ? '' : 'es') + ' in ' + files.size + ' log' + (files.size === 1 ? '' : 's') : '';
    logs.forEach(applyMarks);
  }
  function nextMatch(dir) {
    runSearch();
    if (!matches.length) { return; }
    matchAt = (matchAt + dir + matches.length) % matches.length;
    var m = matches[matchAt], L = logs[m[0]], col = colOf(L);
    if (col) { show(col, L); }
    logs.forEach(applyMarks);
    if (col) { scrollToLine(col, m[1]); }
    searchCount.textContent = (matchAt + 1) + ' of ' + matches.length + ' — ' + L.name + ':' + (m[1] + 1);
  }
  search.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(runSearch, 120);
  });
  search.addEventListener('keydown', function (e) {
    if (e.key === 'Enter') { e.preventDefault(); nextMatch(e.shiftKey ? -1 : 1); }
    if (e.key === 'Escape') { search.blur(); }
  });

  // ---- keys ----

  document.addEventListener('keydown', function (e) {
    var t = e.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA')) { return; }
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var k = e.key;
    if (k === '/') { e.preventDefault(); search.focus(); search.select(); return; }
    if (k === 'Escape') { clearMarks(); state = { place: null, log: null, line: null }; return; }
    if (k === 'n' || k === 'N') { e.preventDefault(); nextMatch(k === 'n' ? 1 : -1); return; }
    if (k === 'j' || k === 'k') {
      e.preventDefault();
      var p = typeof state.place === 'number' ? state.place : (k === 'j' ? -1 : steps.length);
      if (p === SETUP) { p = -1; }
      p += k === 'j' ? 1 : -1;
      if (p >= 0 && p < steps.length) {
        selectStep(p);
        var g = stepEl(p);
        if (g) { g.focus({ preventScroll: true }); }
      }
      return;
    }
    if ((k === 'ArrowDown' || k === 'ArrowUp') && state.log) {
      e.preventDefault();
      selectLine(state.log, state.line + (k === 'ArrowDown' ? 1 : -1));
    }
  });

  // ---- start ----

  if (domains.length) {
    pickDomain(domains[0]);
  } else {
    drawMilestones(null);
  }
  cols.forEach(function (col) { if (!col.shown) { show(col, col.logs[0]); } });
  // What diagnosis.js builds on.
  window.xshReport = {
    data: D, logs: logs, el: el, mark: mark, clearMarks: clearMarks,
    selectLine: selectLine, CHUNK: CHUNK
  };
  if (!D.diagnosis) { document.body.setAttribute('data-ready', '1'); }
}());
