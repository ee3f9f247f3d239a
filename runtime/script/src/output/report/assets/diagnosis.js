// xsh logs diagnose --report: the real logs beside the model's run
// (report.js), each line marked by how it aligned with the closest variant,
// the model's missing lines where they should have been (docs/report.md).
(function () {
  'use strict';

  var R = window.xshReport;
  if (!R || !R.data.diagnosis) { return; }
  var logs = R.logs, el = R.el, mark = R.mark, clearMarks = R.clearMarks;
  var selectLine = R.selectLine, CHUNK = R.CHUNK;

  function modelLog(name) {
    for (var i = 0; i < logs.length; i++) { if (logs[i].name === name) { return logs[i]; } }
    return null;
  }
  function initDiagnosis(G) {
    var box = document.getElementById('real-logs');
    if (!box) { return; }
    box.className = 'realcols';
    var first = null;
    G.real.forEach(function (F, fi) {
      var lines = F.text.split('\n');
      if (lines.length && lines[lines.length - 1] === '') { lines.pop(); }
      var marks = new Map();
      F.marks.forEach(function (m) { marks.set(m[0], m); });
      var ghosts = new Map();
      F.ghosts.forEach(function (g, k) {
        var list = ghosts.get(g[0]);
        if (!list) { list = []; ghosts.set(g[0], list); }
        list.push([k, g]);
      });
      var col = el('div', 'logcol');
      var head = el('header');
      head.appendChild(el('b', null, F.name));
      head.appendChild(el('span', 'count muted', lines.length + ' lines'));
      col.appendChild(head);
      var body = el('div', 'log real');
      body.setAttribute('tabindex', '0');
      var frag = document.createDocumentFragment(), chunk = null, rows = 0;
      // Lines go in chunks the browser lays out only when on screen.
      function add(d) {
        if (rows % CHUNK === 0) { chunk = el('div', 'chunk'); frag.appendChild(chunk); }
        chunk.appendChild(d);
        rows++;
        chunk.style.containIntrinsicSize = 'auto ' + ((rows - 1) % CHUNK + 1) * 16 + 'px';
      }
      function ghostRows(after) {
        (ghosts.get(after) || []).forEach(function (kg) {
          var g = kg[1];
          var d = el('div', 'l ghost g-' + g[1]);
          d.appendChild(el('span', 'n', '+'));
          var what = g[1] === 'missing' ? 'missing: ' : 'the model goes on: ';
          d.appendChild(document.createTextNode(what + g[2] + (g[3] ? '   — ' + g[3] : '')));
          if (g[5]) { d.setAttribute('data-mfile', g[5]); d.setAttribute('data-mline', String(g[6])); }
          if (G.first && G.first[0] === fi && G.first[2] === kg[0]) { first = d; }
          add(d);
        });
      }
      ghostRows(-1);
      lines.forEach(function (t, n) {
        var d = el('div', 'l');
        d.appendChild(el('span', 'n', String(n + 1)));
        d.appendChild(document.createTextNode(t));
        var m = marks.get(n);
        if (m) {
          d.classList.add('m-' + m[1]);
          if (m[2]) { d.setAttribute('data-mfile', m[2]); d.setAttribute('data-mline', String(m[3])); }
          if (m[4]) { d.title = m[4]; }
        } else {
          d.classList.add('nolink');
        }
        if (G.first && G.first[0] === fi && G.first[2] < 0 && G.first[1] === n) { first = d; }
        add(d);
        ghostRows(n);
      });
      body.appendChild(frag);
      body.addEventListener('click', function (e) {
        var d = e.target.closest && e.target.closest('.l');
        if (d) { pickReal(d); }
      });
      col.appendChild(body);
      box.appendChild(col);
    });
    if (first) {
      first.classList.add('first');
      pickReal(first);
      var body = first.closest('.log');
      var top = first.getBoundingClientRect().top - body.getBoundingClientRect().top + body.scrollTop;
      body.scrollTop = Math.max(0, top - body.clientHeight / 3);
    }
  }
  // A real line (or a missing one): the model's line it stands for, and
  // with it the model's step.
  function pickReal(d) {
    var f = d.getAttribute('data-mfile'), L = f && modelLog(f);
    if (L) { selectLine(L, Number(d.getAttribute('data-mline'))); } else { clearMarks(); }
    mark(d, 'sel');
  }

  initDiagnosis(R.data.diagnosis);
  document.body.setAttribute('data-ready', '1');
}());
