/*
 * Image sandbox: the dashboard. Reads GET /api/logs/* (see shared/API.md and
 * fcgi/logs_api.c, shared/analyze.c for the fields) and draws:
 * totals, success rate over time (plain SVG), outcomes by status, the top
 * error patterns, recommendations, unfixed failures (with their code in a
 * dialog) and the AI context with a copy button.
 *
 * Same rules as app.js: no innerHTML, every text through textContent, no
 * inline style (the CSP has style-src 'self'); the chart is built with
 * createElementNS. Every field is read defensively: a missing one leaves a
 * dash, never an exception.
 */
(function () {
  'use strict';

  var SVG_NS = 'http://www.w3.org/2000/svg';
  var API = '/api/logs/';
  var OPEN_KEY = 'imgsandbox.open'; // handed to the playground (sessionStorage)

  var STATUS_ORDER = ['success', 'error', 'timeout', 'oom', 'no_output', 'bad_output', 'rejected'];
  var STATUS_WORD = {
    success: 'Success',
    error: 'Error',
    timeout: 'Timed out',
    oom: 'Out of memory',
    no_output: 'No result',
    bad_output: 'Bad result',
    rejected: 'Refused'
  };
  var STATUS_LONG = {
    timeout: 'Stopped at the time limit',
    oom: 'Stopped: out of memory',
    no_output: 'Finished without saving /output/result.png',
    bad_output: 'The result was not a usable PNG',
    rejected: 'Refused before running'
  };
  var CATEGORY_WORD = {
    import: 'import', attribute: 'attribute', data_access: 'data access', type: 'type', value: 'value',
    syntax: 'syntax', name: 'name', file: 'file', image: 'image', memory: 'memory', timeout: 'timeout',
    output: 'output', rejected: 'refused', other: 'other'
  };

  // Bucket sizes for "recent runs", smallest first (ms).
  var BUCKETS = [
    { ms: 5e3, label: '5 seconds' }, { ms: 10e3, label: '10 seconds' }, { ms: 30e3, label: '30 seconds' },
    { ms: 60e3, label: 'minute' }, { ms: 5 * 60e3, label: '5 minutes' }, { ms: 15 * 60e3, label: '15 minutes' },
    { ms: 3600e3, label: 'hour' }, { ms: 3 * 3600e3, label: '3 hours' }, { ms: 6 * 3600e3, label: '6 hours' },
    { ms: 86400e3, label: 'day' }
  ];
  var MAX_BUCKETS = 36;

  var els = {};
  var state = { analysis: null, recent: null, scale: 'recent', unfixedBefore: null, dialogLog: null };

  /* ---------- Helpers ---------- */

  function $(id) {
    return document.getElementById(id);
  }

  function show(el, visible) {
    el.hidden = !visible;
  }

  function setText(el, text) {
    el.textContent = text == null ? '' : String(text);
  }

  function make(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text != null) el.textContent = String(text);
    return el;
  }

  function svg(tag, attrs, parent) {
    var el = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (k) {
      el.setAttribute(k, String(attrs[k]));
    });
    if (parent) parent.appendChild(el);
    return el;
  }

  function svgTitle(el, text) {
    var t = svg('title', {}, el);
    t.textContent = text;
    return t;
  }

  function isObject(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  }

  function num(v) {
    return typeof v === 'number' && isFinite(v) ? v : null;
  }

  function str(v) {
    return typeof v === 'string' ? v : '';
  }

  function arr(v) {
    return Array.isArray(v) ? v : [];
  }

  function pct(rate) {
    var r = num(rate);
    return r == null ? '–' : Math.round(r * 100) + '%';
  }

  function seconds(ms) {
    var v = num(ms);
    if (v == null) return '–';
    return v < 10000 ? (v / 1000).toFixed(2) + ' s' : (v / 1000).toFixed(1) + ' s';
  }

  function plural(n, one, many) {
    return n + ' ' + (n === 1 ? one : many);
  }

  function sentence(text) {
    var s = String(text).trim();
    if (!s) return '';
    s = s.charAt(0).toUpperCase() + s.slice(1);
    return /[.!?…]$/.test(s) ? s : s + '.';
  }

  function parseTime(iso) {
    var t = Date.parse(iso);
    return isNaN(t) ? null : t;
  }

  function formatWhen(iso) {
    var t = parseTime(iso);
    if (t == null) return '';
    var d = new Date(t);
    var today = new Date();
    var time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    if (d.toDateString() === today.toDateString()) return 'today ' + time;
    return d.toLocaleDateString([], { day: 'numeric', month: 'short' }) + ' ' + time;
  }

  // Text with `code` spans, as nodes (never markup).
  function richText(parent, text) {
    String(text).split('`').forEach(function (part, i) {
      if (!part) return;
      parent.appendChild(i % 2 ? make('code', null, part) : document.createTextNode(part));
    });
    return parent;
  }

  // The error of a refused API call, as a sentence.
  function apiProblem(got, what) {
    var err = got && isObject(got.body) && isObject(got.body.error) ? got.body.error : null;
    var msg = err && typeof err.message === 'string' ? sentence(err.message) : '';
    if (got && got.network) return what + ' could not be loaded: the server could not be reached.';
    if (msg) return what + ' could not be loaded. ' + msg;
    return what + ' could not be loaded (HTTP ' + (got ? got.status : '?') + ').';
  }

  async function getJson(path) {
    var response;
    try {
      response = await fetch(path, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } });
    } catch (e) {
      return { ok: false, network: true, status: 0, body: null };
    }
    var body = null;
    try {
      var text = await response.text();
      body = text ? JSON.parse(text) : null;
    } catch (e) {
      body = null;
    }
    return { ok: response.ok && body !== null, status: response.status, body: body };
  }

  async function getText(path) {
    try {
      var response = await fetch(path, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'text/plain' } });
      var text = await response.text();
      var body = null;
      if (!response.ok) {
        try {
          body = JSON.parse(text);
        } catch (e) {
          body = null;
        }
      }
      return { ok: response.ok, status: response.status, text: response.ok ? text : '', body: body };
    } catch (e) {
      return { ok: false, network: true, status: 0, text: '', body: null };
    }
  }

  function emptyState(el, text) {
    setText(el, text);
    show(el, true);
  }

  /* ---------- Totals ---------- */

  function renderKpis(summary) {
    var s = isObject(summary) ? summary : {};
    var total = num(s.total);
    setText(els.kpiRuns, total == null ? '–' : total.toLocaleString());
    if (num(s.successes) != null) {
      els.kpiRuns.appendChild(make('span', 'kpi-sub', num(s.successes) + ' succeeded, ' + (num(s.failures) || 0) + ' failed'));
    }
    setText(els.kpiRate, total ? pct(s.success_rate) : '–');
    var rateCard = els.kpiRate.parentNode;
    rateCard.classList.toggle('kpi-good', !!total && num(s.success_rate) >= 0.7);
    rateCard.classList.toggle('kpi-bad', !!total && num(s.success_rate) < 0.4);
    var fixed = num(s.failures_fixed);
    var failures = num(s.failures);
    setText(els.kpiFixed, failures ? pct(s.fix_rate) : '–');
    if (failures) els.kpiFixed.appendChild(make('span', 'kpi-sub', (fixed || 0) + ' of ' + plural(failures, 'failure', 'failures')));
    var sessions = isObject(s.sessions) ? s.sessions : {};
    var withFailures = num(sessions.with_failures);
    setText(els.kpiSessions, withFailures ? pct(sessions.fix_rate) : '–');
    if (num(sessions.total) != null) {
      els.kpiSessions.appendChild(make('span', 'kpi-sub', (num(sessions.fixed) || 0) + ' of ' +
        (withFailures || 0) + ' · ' + plural(num(sessions.total), 'session', 'sessions') + ' in all'));
    }
    var d = isObject(s.duration_ms) ? s.duration_ms : {};
    setText(els.kpiDuration, num(d.runs) ? seconds(d.p50) : '–');
    if (num(d.runs)) els.kpiDuration.appendChild(make('span', 'kpi-sub', '95% under ' + seconds(d.p95)));
  }

  /* ---------- Success rate over time ---------- */

  // Recent runs (successes and failures pages) as [{t, ok}], or null.
  function recentRuns(recent) {
    if (!recent) return null;
    var runs = [];
    [['successes', true], ['failures', false]].forEach(function (pair) {
      arr(recent[pair[0]] && recent[pair[0]].items).forEach(function (item) {
        if (!isObject(item)) return;
        var t = parseTime(item.created_at);
        if (t != null) runs.push({ t: t, ok: pair[1] });
      });
    });
    runs.sort(function (a, b) { return a.t - b.t; });
    return runs;
  }

  // Periods for the chart: [{label, long, runs, failed}], and what a period is.
  function periodsFromRuns(runs) {
    var first = runs[0].t;
    var last = runs[runs.length - 1].t;
    var span = last - first;
    var size = null;
    for (var i = 0; i < BUCKETS.length; i++) {
      if (Math.floor(last / BUCKETS[i].ms) - Math.floor(first / BUCKETS[i].ms) + 1 <= MAX_BUCKETS) {
        size = BUCKETS[i];
        break;
      }
    }
    if (!size) return null;
    var start = Math.floor(first / size.ms);
    var n = Math.floor(last / size.ms) - start + 1;
    var periods = [];
    for (var k = 0; k < n; k++) {
      var t = (start + k) * size.ms;
      var d = new Date(t);
      var label = size.ms >= 86400e3
        ? d.toLocaleDateString([], { day: 'numeric', month: 'short' })
        : size.ms < 60e3 ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
          : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      var long = size.ms >= 86400e3 ? d.toLocaleDateString([], { dateStyle: 'medium' })
        : d.toLocaleDateString([], { day: 'numeric', month: 'short' }) + ' ' + label;
      periods.push({ label: label, long: long, runs: 0, failed: 0 });
    }
    runs.forEach(function (r) {
      var p = periods[Math.floor(r.t / size.ms) - start];
      p.runs += 1;
      if (!r.ok) p.failed += 1;
    });
    return { periods: periods, unit: size.label, span: span };
  }

  function periodsFromTrend(trend) {
    var periods = arr(trend).filter(isObject).map(function (d) {
      var day = str(d.day);
      var t = Date.parse(day + 'T00:00:00Z');
      var date = isNaN(t) ? null : new Date(t);
      var label = date ? date.toLocaleDateString([], { day: 'numeric', month: 'short', timeZone: 'UTC' }) : day;
      var runs = num(d.runs) || 0;
      return {
        label: label,
        long: date ? date.toLocaleDateString([], { dateStyle: 'medium', timeZone: 'UTC' }) : day,
        runs: runs,
        failed: Math.min(runs, num(d.failures) || 0)
      };
    });
    return { periods: periods, unit: 'day (UTC)' };
  }

  function niceMax(v) {
    if (v <= 4) return 4;
    var step = Math.pow(10, Math.floor(Math.log10(v / 4)));
    var candidates = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < candidates.length; i++) {
      if (candidates[i] * step * 4 >= v) return candidates[i] * step * 4;
    }
    return Math.ceil(v / (4 * step)) * 4 * step;
  }

  function drawChart(data) {
    var box = els.trendChart;
    box.textContent = '';
    // Drawn at the size it is shown, so that its text stays legible on a phone.
    var W = Math.max(300, Math.round(box.clientWidth || 720));
    var H = W < 520 ? 230 : 270;
    var m = { l: 44, r: 48, t: 14, b: 40 };
    var iw = W - m.l - m.r;
    var ih = H - m.t - m.b;
    var periods = data ? data.periods : [];
    var total = periods.reduce(function (s, p) { return s + p.runs; }, 0);

    var root = svg('svg', {
      viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-labelledby': 'trend-svg-title trend-svg-desc',
      preserveAspectRatio: 'xMidYMid meet'
    }, box);
    svg('title', { id: 'trend-svg-title' }, root).textContent = 'Success rate over time';
    var desc = svg('desc', { id: 'trend-svg-desc' }, root);

    // Grid and axes: four steps, the right axis in percent.
    var maxRuns = niceMax(Math.max(1, Math.max.apply(null, periods.map(function (p) { return p.runs; }).concat([0]))));
    var grid = svg('g', { 'aria-hidden': 'true' }, root);
    for (var g = 0; g <= 4; g++) {
      var y = m.t + ih - (ih * g) / 4;
      svg('line', { x1: m.l, x2: m.l + iw, y1: y, y2: y, class: g === 0 ? 'axis-line' : 'grid-line' }, grid);
      svg('text', { x: m.l - 8, y: y + 4, 'text-anchor': 'end', class: 'tick-label' }, grid).textContent =
        String(Math.round((maxRuns * g) / 4 * 10) / 10);
      svg('text', { x: m.l + iw + 8, y: y + 4, 'text-anchor': 'start', class: 'tick-label' }, grid).textContent =
        (25 * g) + '%';
    }
    svg('text', { x: 12, y: m.t + ih / 2, class: 'axis-label', 'text-anchor': 'middle',
      transform: 'rotate(-90 12 ' + (m.t + ih / 2) + ')' }, grid).textContent = 'runs';
    svg('text', { x: W - 8, y: m.t + ih / 2, class: 'axis-label', 'text-anchor': 'middle',
      transform: 'rotate(90 ' + (W - 8) + ' ' + (m.t + ih / 2) + ')' }, grid).textContent = 'success rate';

    if (!total) {
      svg('text', { x: m.l + iw / 2, y: m.t + ih / 2, 'text-anchor': 'middle', class: 'empty-label' }, root)
        .textContent = 'No runs yet: run a script in the playground.';
      desc.textContent = 'No runs have been logged yet.';
      return;
    }

    var n = periods.length;
    var slot = iw / n;
    var barW = Math.max(2, Math.min(42, slot * 0.62));
    var bars = svg('g', { class: 'bars' }, root);
    var points = [];
    var labelEvery = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(iw / 90))));
    periods.forEach(function (p, i) {
      var cx = m.l + slot * i + slot / 2;
      var okH = (ih * (p.runs - p.failed)) / maxRuns;
      var failH = (ih * p.failed) / maxRuns;
      var group = svg('g', { class: 'period' }, bars);
      var rate = p.runs ? (p.runs - p.failed) / p.runs : null;
      svgTitle(group, p.long + ': ' + plural(p.runs, 'run', 'runs') + (p.runs ? ', ' + (p.runs - p.failed) +
        ' succeeded (' + Math.round(rate * 100) + '%)' : ''));
      if (okH > 0) {
        svg('rect', { x: cx - barW / 2, y: m.t + ih - okH, width: barW, height: okH, rx: 2, class: 'bar-ok' }, group);
      }
      if (failH > 0) {
        svg('rect', { x: cx - barW / 2, y: m.t + ih - okH - failH, width: barW, height: failH, rx: 2, class: 'bar-fail' },
          group);
      }
      if (rate != null) points.push({ x: cx, y: m.t + ih - ih * rate, rate: rate, p: p });
      if (i % labelEvery === 0) {
        svg('text', { x: cx, y: m.t + ih + 18, 'text-anchor': 'middle', class: 'tick-label' }, root).textContent = p.label;
      }
    });

    // The rate line (over periods that had runs) with its area and dots.
    if (points.length > 1) {
      var line = points.map(function (pt, i) { return (i ? 'L' : 'M') + pt.x.toFixed(1) + ' ' + pt.y.toFixed(1); }).join(' ');
      var area = line + ' L' + points[points.length - 1].x.toFixed(1) + ' ' + (m.t + ih) + ' L' + points[0].x.toFixed(1) +
        ' ' + (m.t + ih) + ' Z';
      // The area goes under the bars, the line over them.
      root.insertBefore(svg('path', { d: area, class: 'rate-area', 'aria-hidden': 'true' }), bars);
      svg('path', { d: line, class: 'rate-line', 'aria-hidden': 'true' }, root);
    }
    var dots = svg('g', { class: 'dots' }, root);
    points.forEach(function (pt) {
      var dot = svg('circle', { cx: pt.x, cy: pt.y, r: 4.5, class: 'rate-dot' }, dots);
      svgTitle(dot, pt.p.long + ': ' + Math.round(pt.rate * 100) + '% succeeded');
    });

    var overall = (total - periods.reduce(function (s, p) { return s + p.failed; }, 0)) / total;
    desc.textContent = plural(total, 'run', 'runs') + ' over ' + plural(n, 'period', 'periods') + ' of a ' + data.unit +
      '; ' + Math.round(overall * 100) + '% succeeded. The table below the chart has the numbers.';
  }

  function fillTrendTable(data) {
    var body = els.trendTable.tBodies[0];
    body.textContent = '';
    (data ? data.periods : []).filter(function (p) { return p.runs > 0; }).forEach(function (p) {
      var tr = make('tr');
      tr.appendChild(make('td', null, p.long));
      tr.appendChild(make('td', 'num', p.runs));
      tr.appendChild(make('td', 'num', p.failed));
      tr.appendChild(make('td', 'num', Math.round(((p.runs - p.failed) / p.runs) * 100) + '%'));
      body.appendChild(tr);
    });
  }

  function renderTrend() {
    var analysis = state.analysis;
    var runs = recentRuns(state.recent);
    var data = null;
    var recentOk = runs && runs.length && state.recent.complete;
    if (state.scale === 'recent' && runs && runs.length) data = periodsFromRuns(runs);
    if (!data && analysis) data = periodsFromTrend(analysis.trend);
    if (!data && runs) data = runs.length ? periodsFromRuns(runs) : { periods: [], unit: 'day' };
    els.scaleRecent.disabled = !(runs && runs.length);
    els.scaleRecent.setAttribute('aria-pressed', String(state.scale === 'recent' && !!(runs && runs.length)));
    els.scaleDay.setAttribute('aria-pressed', String(!(state.scale === 'recent' && runs && runs.length)));
    els.trendChart.dataset.unit = data ? data.unit : '';
    els.trendChart.dataset.complete = recentOk ? 'true' : 'false';
    drawChart(data);
    fillTrendTable(data);
  }

  /* ---------- Outcomes ---------- */

  function renderOutcomes(summary) {
    var list = els.outcomes;
    list.textContent = '';
    var s = isObject(summary) ? summary : {};
    var by = isObject(s.by_status) ? s.by_status : {};
    var total = num(s.total) || Object.keys(by).reduce(function (t, k) { return t + (num(by[k]) || 0); }, 0);
    var keys = STATUS_ORDER.concat(Object.keys(by).filter(function (k) { return STATUS_ORDER.indexOf(k) === -1; }));
    keys.forEach(function (k) {
      var n = num(by[k]);
      if (n == null) return;
      var li = make('li', 'outcome');
      li.appendChild(make('span', 'outcome-name', STATUS_WORD[k] || k));
      var bar = svg('svg', { viewBox: '0 0 100 10', preserveAspectRatio: 'none', 'aria-hidden': 'true' }, li);
      svg('rect', { x: 0, y: 0, width: 100, height: 10, rx: 2, class: 'track' }, bar);
      var share = total ? n / total : 0;
      if (n > 0) {
        svg('rect', { x: 0, y: 0, width: Math.max(1, share * 100).toFixed(2), height: 10, rx: 2,
          class: 'fill-' + (STATUS_WORD[k] ? k : 'other') }, bar);
      }
      li.appendChild(make('span', 'outcome-count', n + ' · ' + Math.round(share * 100) + '%'));
      list.appendChild(li);
    });
    if (!list.children.length) list.appendChild(make('li', 'empty-state', 'No runs yet.'));
    var d = isObject(s.duration_ms) ? s.duration_ms : {};
    var parts = [];
    if (num(d.runs)) {
      parts.push('Run times: median ' + seconds(d.p50) + ', 95th percentile ' + seconds(d.p95) + ', longest ' +
        seconds(d.max) + '.');
    }
    if (num(s.distinct_patterns) != null) parts.push(plural(num(s.distinct_patterns), 'distinct error pattern', 'distinct error patterns') + '.');
    setText(els.durationLine, parts.join(' '));
  }

  /* ---------- Error patterns ---------- */

  function viewButton(logId, label) {
    var b = make('button', 'tool-button small', label || 'View');
    b.type = 'button';
    b.dataset.logId = String(logId);
    b.addEventListener('click', function () {
      openLog(logId, b);
    });
    return b;
  }

  function renderPatterns(patterns) {
    var body = els.patternsTable.tBodies[0];
    body.textContent = '';
    var list = arr(patterns).filter(isObject).slice(0, 10);
    show(els.patternsTable, list.length > 0);
    show(els.patternsEmpty, false);
    if (!list.length) {
      emptyState(els.patternsEmpty, 'No failures logged yet.');
      return;
    }
    list.forEach(function (p) {
      var tr = make('tr');
      var cell = make('td', 'pattern-cell');
      var type = str(p.type);
      var head = make('div');
      head.appendChild(make('strong', 'mono', type || STATUS_WORD[str(p.category)] || 'Error'));
      if (p.category) head.appendChild(make('span', 'badge badge-neutral', CATEGORY_WORD[p.category] || p.category));
      head.classList.add('history-head');
      cell.appendChild(head);
      cell.appendChild(make('div', 'mono', str(p.pattern)));
      tr.appendChild(cell);
      tr.appendChild(make('td', 'num', num(p.count) == null ? '–' : num(p.count)));
      tr.appendChild(make('td', 'num', (num(p.fixed) || 0) + ' · ' + pct(p.fix_rate)));
      tr.appendChild(make('td', 'when', formatWhen(p.last_seen)));
      var act = make('td');
      if (num(p.example_log_id)) act.appendChild(viewButton(num(p.example_log_id), 'Example'));
      tr.appendChild(act);
      body.appendChild(tr);
    });
  }

  /* ---------- Recommendations ---------- */

  function renderRecommendations(recs) {
    var list = els.recs;
    list.textContent = '';
    show(els.recsEmpty, false);
    var items = arr(recs).filter(isObject).slice(0, 8);
    if (!items.length) {
      emptyState(els.recsEmpty, 'No recommendations yet: they come from failures in the log.');
      return;
    }
    items.forEach(function (r) {
      var li = make('li', 'rec');
      var head = make('div', 'rec-head');
      if (r.error_type) head.appendChild(make('span', 'rec-type', r.error_type));
      if (r.category) head.appendChild(make('span', 'badge badge-neutral', CATEGORY_WORD[r.category] || r.category));
      if (num(r.count) != null) {
        head.appendChild(make('span', null, plural(num(r.count), 'time', 'times') + ' · ' + pct(r.fix_rate) + ' fixed later'));
      }
      li.appendChild(head);
      li.appendChild(richText(make('p', 'rec-advice'), str(r.advice)));
      var learnt = arr(r.learnt).filter(function (x) { return typeof x === 'string'; });
      if (learnt.length) {
        var ul = make('ul', 'rec-learnt');
        learnt.forEach(function (l) { ul.appendChild(richText(make('li'), l)); });
        li.appendChild(ul);
      }
      if (num(r.example_log_id)) {
        var foot = make('p', 'rec-foot');
        foot.appendChild(viewButton(num(r.example_log_id), 'See an example (log #' + num(r.example_log_id) + ')'));
        li.appendChild(foot);
      }
      list.appendChild(li);
    });
  }

  /* ---------- Unfixed failures ---------- */

  function failureTitle(item) {
    var err = isObject(item.error) ? item.error : null;
    var status = str(item.status);
    if (status === 'rejected' && isObject(item.reject)) {
      return 'Refused: ' + (str(item.reject.message) || str(item.reject.code));
    }
    if (err && (err.type || err.message)) {
      var line = num(err.line) ? ' (line ' + err.line + ')' : '';
      return (str(err.type) || 'Error') + (err.message ? ': ' + err.message : '') + line;
    }
    return STATUS_LONG[status] || STATUS_WORD[status] || status || 'Failed';
  }

  function renderUnfixed(page, append) {
    if (!append) els.unfixed.textContent = '';
    show(els.unfixedEmpty, false);
    var items = arr(page && page.items).filter(isObject);
    items.forEach(function (item) {
      var li = make('li', 'failure');
      li.appendChild(make('p', 'failure-title', failureTitle(item)));
      var meta = [];
      if (num(item.log_id)) meta.push('log #' + num(item.log_id));
      if (num(item.attempt)) meta.push('attempt ' + num(item.attempt));
      if (str(item.session_id)) meta.push('session ' + str(item.session_id).slice(0, 8) + '…');
      if (formatWhen(item.created_at)) meta.push(formatWhen(item.created_at));
      if (num(item.duration_ms) != null) meta.push(seconds(item.duration_ms));
      li.appendChild(make('p', 'failure-meta', (STATUS_WORD[str(item.status)] || str(item.status)) + ' · ' + meta.join(' · ')));
      var actions = make('div', 'failure-actions');
      if (num(item.log_id)) actions.appendChild(viewButton(num(item.log_id), 'View code'));
      li.appendChild(actions);
      els.unfixed.appendChild(li);
    });
    state.unfixedBefore = page && num(page.next_before) ? num(page.next_before) : null;
    show(els.unfixedMore, !!state.unfixedBefore);
    if (!els.unfixed.children.length) emptyState(els.unfixedEmpty, 'No unfixed failures. Every failure was fixed by a later attempt.');
  }

  async function loadMoreUnfixed() {
    if (!state.unfixedBefore) return;
    els.unfixedMore.disabled = true;
    var got = await getJson(API + 'failures?unfixed_only=true&limit=20&before=' + state.unfixedBefore);
    els.unfixedMore.disabled = false;
    if (got.ok) renderUnfixed(got.body, true);
    else showMessage(apiProblem(got, 'Older failures'));
  }

  /* ---------- The AI context ---------- */

  async function copyText(text, statusEl, source) {
    var done = false;
    if (navigator.clipboard && typeof navigator.clipboard.writeText === 'function') {
      try {
        await navigator.clipboard.writeText(text);
        done = true;
      } catch (e) {
        done = false;
      }
    }
    if (!done && source) {
      // Older browsers, or a clipboard the page may not write: select and copy.
      var range = document.createRange();
      range.selectNodeContents(source);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      try {
        done = document.execCommand('copy');
      } catch (e) {
        done = false;
      }
    }
    setText(statusEl, done ? 'Copied to the clipboard.' : 'Select the text and copy it (Ctrl+C).');
    setTimeout(function () { setText(statusEl, ''); }, 5000);
    return done;
  }

  /* ---------- One log entry, in a dialog ---------- */

  var lastOpener = null;

  async function openLog(id, opener) {
    lastOpener = opener || null;
    state.dialogLog = null;
    setText(els.logTitle, 'Log entry #' + id);
    setText(els.logMeta, 'Loading…');
    els.logCode.textContent = '';
    show(els.logError, false);
    show(els.logTracebackBox, false);
    show(els.logStreams, false);
    els.logOpen.disabled = true;
    els.logCopy.disabled = true;
    setText(els.logCopyStatus, '');
    if (typeof els.dialog.showModal === 'function') {
      if (!els.dialog.open) els.dialog.showModal();
    } else {
      els.dialog.setAttribute('open', '');
    }
    var got = await getJson(API + 'log/' + encodeURIComponent(id));
    if (!got.ok || !isObject(got.body)) {
      setText(els.logMeta, apiProblem(got, 'This log entry'));
      return;
    }
    fillLog(got.body);
  }

  function fillLog(log) {
    state.dialogLog = log;
    var parts = [STATUS_WORD[str(log.status)] || str(log.status)];
    if (formatWhen(log.created_at)) parts.push(formatWhen(log.created_at));
    if (num(log.attempt)) parts.push('attempt ' + num(log.attempt) + (str(log.session_id) ? ' of session ' + str(log.session_id).slice(0, 8) + '…' : ''));
    if (num(log.duration_ms) != null) parts.push('ran ' + seconds(log.duration_ms));
    if (num(log.fixed_by)) parts.push('fixed by log #' + num(log.fixed_by));
    if (isObject(log.image) && num(log.image.width)) parts.push('image ' + num(log.image.width) + ' × ' + num(log.image.height) + ' px');
    if (str(log.ai_model)) parts.push('written by ' + str(log.ai_model));
    setText(els.logMeta, parts.join(' · '));

    var err = isObject(log.error) ? log.error : null;
    var title = log.status === 'success' ? '' : failureTitle(log);
    setText(els.logError, title);
    show(els.logError, !!title);

    var code = typeof log.code === 'string' ? log.code : '';
    var errLine = err && num(err.line) ? num(err.line) : null;
    var lines = code.replace(/\n$/, '').split('\n');
    var errEl = null;
    lines.forEach(function (line, i) {
      var span = make('span', 'code-line' + (errLine === i + 1 ? ' is-error' : ''), line + '\n');
      if (errLine === i + 1) errEl = span;
      els.logCode.appendChild(span);
    });
    if (!code) setText(els.logCode, '(no code was kept for this entry)');
    if (errEl) {
      var top = errEl.offsetTop - els.logCode.clientHeight / 3;
      els.logCode.scrollTop = Math.max(0, top);
    }

    var tb = err && typeof err.traceback === 'string' ? err.traceback : '';
    setText(els.logTraceback, tb);
    show(els.logTracebackBox, !!tb);
    var out = str(log.stdout);
    var errOut = str(log.stderr);
    setText(els.logStdout, out);
    setText(els.logStderr, errOut);
    show(els.logStreams, !!(out || errOut));
    els.logOpen.disabled = !code;
    els.logCopy.disabled = !code;
  }

  function closeLog() {
    if (typeof els.dialog.close === 'function') els.dialog.close();
    else els.dialog.removeAttribute('open');
  }

  function openInPlayground() {
    var log = state.dialogLog;
    if (!log || typeof log.code !== 'string') return;
    var err = isObject(log.error) ? log.error : null;
    var data = {
      code: log.code,
      log_id: num(log.log_id),
      line: err && num(err.line) ? num(err.line) : null,
      message: err ? (str(err.type) || 'Error') + (err.message ? ': ' + err.message : '') : ''
    };
    try {
      window.sessionStorage.setItem(OPEN_KEY, JSON.stringify(data));
    } catch (e) {
      setText(els.logCopyStatus, 'The browser refused to hand the code over; copy it instead.');
      return;
    }
    window.location.href = './';
  }

  /* ---------- Loading ---------- */

  var messages = [];

  function showMessage(text) {
    if (messages.indexOf(text) === -1) messages.push(text);
    setText(els.message, messages.join(' '));
    show(els.message, true);
  }

  function clearMessages() {
    messages = [];
    setText(els.message, '');
    show(els.message, false);
  }

  async function loadAll() {
    clearMessages();
    els.refresh.disabled = true;
    document.body.setAttribute('aria-busy', 'true');
    setText(els.updated, 'Loading…');
    var results = await Promise.all([
      getJson(API + 'analysis?limit=10'),
      getJson(API + 'successes?limit=500'),
      getJson(API + 'failures?limit=500'),
      getJson(API + 'failures?unfixed_only=true&limit=20'),
      getText(API + 'ai-context')
    ]);
    var analysis = results[0];
    var successes = results[1];
    var failures = results[2];
    var unfixed = results[3];
    var context = results[4];

    if (analysis.ok && isObject(analysis.body)) {
      state.analysis = analysis.body;
      renderKpis(analysis.body.summary);
      renderOutcomes(analysis.body.summary);
      renderPatterns(analysis.body.error_patterns || analysis.body.patterns);
      renderRecommendations(analysis.body.recommendations);
    } else {
      state.analysis = null;
      showMessage(apiProblem(analysis, 'The analysis'));
      renderKpis(null);
      renderOutcomes(null);
      renderPatterns([]);
      renderRecommendations([]);
      emptyState(els.patternsEmpty, 'Not available.');
      emptyState(els.recsEmpty, 'Not available.');
    }

    if (successes.ok && failures.ok) {
      state.recent = {
        successes: successes.body,
        failures: failures.body,
        complete: !num(successes.body.next_before) && !num(failures.body.next_before)
      };
    } else {
      state.recent = null;
      if (!analysis.ok) showMessage(apiProblem(successes.ok ? failures : successes, 'The recent runs'));
    }
    renderTrend();

    if (unfixed.ok) renderUnfixed(unfixed.body, false);
    else {
      els.unfixed.textContent = '';
      show(els.unfixedMore, false);
      emptyState(els.unfixedEmpty, apiProblem(unfixed, 'The unfixed failures'));
    }
    var s = state.analysis && isObject(state.analysis.summary) ? state.analysis.summary : null;
    setText(els.unfixedCount, s && num(s.failures_unfixed) != null ? plural(num(s.failures_unfixed), 'failure', 'failures') + ' in all' : '');

    if (context.ok) {
      setText(els.contextText, context.text || '(empty)');
      els.copyContext.disabled = !context.text;
    } else {
      setText(els.contextText, apiProblem(context, 'The AI context'));
      els.copyContext.disabled = true;
    }

    document.body.removeAttribute('aria-busy');
    els.refresh.disabled = false;
    setText(els.updated, 'Updated at ' + new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) +
      (s && str(s.first_at) ? ' · log since ' + formatWhen(s.first_at) : ''));
  }

  /* ---------- Start-up ---------- */

  function init() {
    [
      ['updated', 'updated'], ['refresh', 'refresh'], ['message', 'dash-message'],
      ['kpiRuns', 'kpi-runs'], ['kpiRate', 'kpi-rate'], ['kpiFixed', 'kpi-fixed'], ['kpiSessions', 'kpi-sessions'],
      ['kpiDuration', 'kpi-duration'], ['trendChart', 'trend-chart'], ['trendTable', 'trend-table'],
      ['scaleRecent', 'scale-recent'], ['scaleDay', 'scale-day'], ['outcomes', 'outcomes'],
      ['durationLine', 'duration-line'], ['patternsTable', 'patterns-table'], ['patternsEmpty', 'patterns-empty'],
      ['recs', 'recs'], ['recsEmpty', 'recs-empty'], ['unfixed', 'unfixed'], ['unfixedEmpty', 'unfixed-empty'],
      ['unfixedMore', 'unfixed-more'], ['unfixedCount', 'unfixed-count'], ['contextText', 'context-text'],
      ['copyContext', 'copy-context'], ['copyStatus', 'copy-status'], ['dialog', 'log-dialog'],
      ['logTitle', 'log-title'], ['logClose', 'log-close'], ['logMeta', 'log-meta'], ['logError', 'log-error'],
      ['logCode', 'log-code'], ['logTracebackBox', 'log-traceback-box'], ['logTraceback', 'log-traceback'],
      ['logStreams', 'log-streams'], ['logStdout', 'log-stdout'], ['logStderr', 'log-stderr'],
      ['logOpen', 'log-open'], ['logCopy', 'log-copy'], ['logCopyStatus', 'log-copy-status']
    ].forEach(function (pair) {
      els[pair[0]] = $(pair[1]);
    });

    els.refresh.addEventListener('click', loadAll);
    els.scaleRecent.addEventListener('click', function () {
      state.scale = 'recent';
      renderTrend();
    });
    els.scaleDay.addEventListener('click', function () {
      state.scale = 'day';
      renderTrend();
    });
    els.unfixedMore.addEventListener('click', loadMoreUnfixed);
    // The chart follows its box (a phone turned, a window resized).
    if (typeof ResizeObserver === 'function') {
      var lastWidth = 0;
      var pending = null;
      new ResizeObserver(function () {
        var w = els.trendChart.clientWidth;
        if (Math.abs(w - lastWidth) < 8 || !(state.analysis || state.recent)) return;
        lastWidth = w;
        clearTimeout(pending);
        pending = setTimeout(renderTrend, 120);
      }).observe(els.trendChart);
    }
    els.copyContext.addEventListener('click', function () {
      copyText(els.contextText.textContent, els.copyStatus, els.contextText);
    });
    els.logClose.addEventListener('click', closeLog);
    els.dialog.addEventListener('close', function () {
      if (lastOpener && document.contains(lastOpener)) lastOpener.focus();
    });
    // A click on the backdrop closes the dialog.
    els.dialog.addEventListener('click', function (e) {
      if (e.target === els.dialog) closeLog();
    });
    els.logOpen.addEventListener('click', openInPlayground);
    els.logCopy.addEventListener('click', function () {
      if (state.dialogLog && typeof state.dialogLog.code === 'string') {
        copyText(state.dialogLog.code, els.logCopyStatus, els.logCode);
      }
    });
    loadAll();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
