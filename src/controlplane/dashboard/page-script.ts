// The dashboard's script, served as is (no build step): a hash router over five views, each a fetch
// of /api/dashboard/* every 2 s drawn with DOM calls. Every string from the mesh goes in through
// textContent or attributes, never as markup: labels come from proxies' metrics.
export const DASHBOARD_JS = String.raw`'use strict';
(function () {
  var SVG = 'http://www.w3.org/2000/svg';
  var view = document.getElementById('view');
  var statusEl = document.getElementById('status');
  var rangeEl = document.getElementById('range');
  var liveEl = document.getElementById('live');
  var timer = null;
  var seq = 0;

  function el(tag, attrs, children) {
    var n = document.createElement(tag);
    for (var k in attrs || {}) if (attrs[k] !== undefined && attrs[k] !== null) n.setAttribute(k, attrs[k]);
    (children || []).forEach(function (c) { n.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return n;
  }
  function sv(tag, attrs, children) {
    var n = document.createElementNS(SVG, tag);
    for (var k in attrs || {}) n.setAttribute(k, attrs[k]);
    (children || []).forEach(function (c) { n.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return n;
  }
  function table(caption, head, rows, numeric) {
    var t = el('table', {}, [el('caption', {}, [caption])]);
    t.appendChild(el('thead', {}, [el('tr', {}, head.map(function (h) { return el('th', { scope: 'col' }, [h]); }))]));
    var body = el('tbody');
    rows.forEach(function (r) {
      body.appendChild(el('tr', r.attrs || {}, r.cells.map(function (c, i) {
        var td = el('td', numeric && numeric[i] ? { class: 'num' } : {});
        if (c && c.nodeType) td.appendChild(c); else td.textContent = c === null || c === undefined ? '' : String(c);
        return td;
      })));
    });
    if (!rows.length) body.appendChild(el('tr', {}, [el('td', { colspan: String(head.length), class: 'muted' }, ['none'])]));
    t.appendChild(body);
    return t;
  }
  function rps(v) { return v === null || v === undefined ? '–' : v >= 100 ? v.toFixed(0) : v.toFixed(1); }
  function pct(v) { return v === null || v === undefined ? '–' : (v * 100).toFixed(v >= 0.9995 || v === 0 ? 0 : 1) + '%'; }
  function ms(v) { return v === null || v === undefined ? '–' : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0); }
  function health(v) { return v === null || v === undefined ? 'idle' : v >= 0.99 ? 'ok' : v >= 0.95 ? 'warn' : 'bad'; }
  function flagsText(f) { var k = Object.keys(f || {}); return k.length ? k.map(function (x) { return x + ' ' + Math.round(f[x]); }).join(', ') : ''; }
  function errorsList(errs) {
    if (!errs || !errs.length) return el('div');
    return el('ul', { class: 'errors', 'aria-label': 'problems reading metrics' }, errs.slice(0, 20).map(function (e) { return el('li', {}, [e]); }));
  }
  function getJSON(path) {
    return fetch(path, { cache: 'no-store' }).then(function (r) {
      if (!r.ok && r.status !== 404) throw new Error(path + ': HTTP ' + r.status);
      return r.status === 404 ? null : r.json();
    });
  }

  function drawGraph(g) {
    var svg = sv('svg', { class: 'graph', id: 'graph-svg', viewBox: '0 0 ' + g.width + ' ' + g.height, width: String(g.width), height: String(g.height), role: 'img', 'aria-labelledby': 'graph-title' });
    svg.appendChild(sv('title', { id: 'graph-title' }, ['Service graph: ' + g.services.length + ' services, ' + g.edges.length + ' edges (every number is also in the table below)']));
    var defs = sv('defs');
    var colors = { ok: '#1a7f37', warn: '#9a6700', bad: '#cf222e', idle: '#8c959f' };
    Object.keys(colors).forEach(function (c) {
      var m = sv('marker', { id: 'arrow-' + c, viewBox: '0 0 10 10', refX: '10', refY: '5', markerWidth: '6', markerHeight: '6', orient: 'auto-start-reverse' });
      m.appendChild(sv('path', { d: 'M0,0 L10,5 L0,10 z', fill: colors[c] }));
      defs.appendChild(m);
    });
    svg.appendChild(defs);
    g.services.forEach(function (s) {
      var grp = sv('g', { class: 'svc', 'data-service': s.name });
      grp.appendChild(sv('rect', { class: 'box', x: s.x, y: s.y, width: s.w, height: s.h, rx: '6' }));
      grp.appendChild(sv('text', { class: 'title', x: s.x + 10, y: s.y + 18 }, [s.name + (s.namespace !== 'default' ? ' · ' + s.namespace : '')]));
      s.workloads.forEach(function (w) {
        var wg = sv('g', { class: 'wl', 'data-workload': w.name });
        wg.appendChild(sv('rect', { x: w.x, y: w.y, width: w.w, height: w.h, rx: '4' }));
        wg.appendChild(sv('text', { x: w.x + 8, y: w.y + w.h / 2 + 4 }, [w.name + (w.version && w.version !== 'unknown' && w.name.indexOf(w.version) < 0 ? ' (' + w.version + ')' : '')]));
        grp.appendChild(wg);
      });
      svg.appendChild(grp);
    });
    var maxRps = Math.max.apply(null, [1].concat(g.edges.map(function (e) { return e.rps; })));
    g.edges.forEach(function (e) {
      var h = e.rps > 0 ? health(e.successRate) : 'idle';
      svg.appendChild(sv('path', { class: 'edge ' + h, d: e.d, 'stroke-width': String(1.5 + 3 * Math.sqrt(e.rps / maxRps)), 'marker-end': 'url(#arrow-' + h + ')', 'data-edge': e.id }));
    });
    g.edges.forEach(function (e) {
      var f = flagsText(e.flags);
      var lines = [rps(e.rps) + ' rps · ' + pct(e.successRate) + (f ? ' · ' + f : ''), 'p50 ' + ms(e.p50) + ' · p95 ' + ms(e.p95) + ' · p99 ' + ms(e.p99) + ' ms'];
      var w = 10 + 6.3 * Math.max.apply(null, lines.map(function (l) { return l.length; }));
      var lg = sv('g', { class: 'label' });
      lg.appendChild(sv('rect', { x: e.labelX - w, y: e.labelY - 15, width: w, height: 30, rx: '3' }));
      lines.forEach(function (l, i) { lg.appendChild(sv('text', { x: e.labelX - w + 5, y: e.labelY - 3 + i * 13 }, [l])); });
      svg.appendChild(lg);
    });
    return svg;
  }

  var views = {
    graph: function (range) {
      return getJSON('/api/dashboard/graph?range=' + range).then(function (d) {
        var g = d.graph;
        var rows = g.edges.map(function (e) {
          return {
            attrs: { 'data-edge': e.id },
            cells: [e.source.workload, e.destination.service.split('.')[0], e.destination.version, rps(e.rps), pct(e.successRate), ms(e.p50), ms(e.p95), ms(e.p99), flagsText(e.flags), Object.keys(e.codes).sort().join(' '), e.reporter],
          };
        });
        return [
          el('h2', {}, ['Service graph']),
          el('p', { class: 'muted' }, ['Metrics from ' + (d.source === 'prometheus' ? 'Prometheus' : 'the proxies, scraped by the control plane') + ' over the last ' + d.rangeSeconds + ' s. Edges: requests per second, success (non-5xx), latency quantiles.']),
          errorsList(d.errors),
          drawGraph(g),
          el('h2', {}, ['Edges']),
          table('every edge of the graph', ['Source', 'Destination', 'Version', 'RPS', 'Success', 'p50 ms', 'p95 ms', 'p99 ms', 'Flags', 'Codes', 'Reporter'], rows, [0, 0, 0, 1, 1, 1, 1, 1]),
        ];
      });
    },
    services: function () {
      return getJSON('/api/dashboard/services').then(function (list) {
        return [el('h2', {}, ['Services']), table('services in the mesh', ['Service', 'Namespace', 'Versions', 'Endpoints'], list.map(function (s) {
          return { cells: [el('a', { href: '#service/' + encodeURIComponent(s.namespace) + '/' + encodeURIComponent(s.name) }, [s.name]), s.namespace, s.versions.join(', '), s.endpoints] };
        }), [0, 0, 0, 1])];
      });
    },
    service: function (range, args) {
      var ns = decodeURIComponent(args[0] || 'default');
      var name = decodeURIComponent(args[1] || '');
      return getJSON('/api/dashboard/service?range=' + range + '&namespace=' + encodeURIComponent(ns) + '&name=' + encodeURIComponent(name)).then(function (s) {
        if (!s) return [el('p', {}, ['No service ' + name + ' in ' + ns + '.'])];
        var out = [el('h2', {}, ['Service ' + s.name + ' (' + s.namespace + ')']), el('p', { class: 'muted' }, [s.hostname + ' · ' + s.origin + ' · ports ' + s.ports.map(function (p) { return p.port + '/' + p.protocol; }).join(', ')])];
        out.push(table('versions', ['Version', 'Endpoints', 'RPS in', 'Success', 'p99 ms'], s.versions.map(function (v) { return { cells: [v.version, v.endpoints, rps(v.rps), pct(v.successRate), ms(v.p99)] }; }), [0, 1, 1, 1, 1]));
        out.push(el('h2', {}, ['Routes']));
        if (!s.routes.length) out.push(el('p', { class: 'muted' }, ['No VirtualService: the default route, every endpoint.']));
        s.routes.forEach(function (vs) {
          out.push(table('VirtualService ' + vs.name + ' (' + vs.file + ')', ['#', 'Match', 'To', 'Fault', 'Timeout'], vs.http.map(function (r) {
            return { cells: [r.index, r.match, r.to.map(function (t) { return t.host + (t.subset ? '/' + t.subset : '') + ' ' + t.weight + '%'; }).join(', '), r.fault, r.timeoutMs === null ? '' : r.timeoutMs + ' ms'] };
          })));
        });
        out.push(table('DestinationRules', ['Name', 'Subsets', 'Traffic policy'], s.destinationRules.map(function (d) {
          return { cells: [d.name, d.subsets.map(function (x) { return x.name + ' {' + Object.keys(x.labels).map(function (k) { return k + '=' + x.labels[k]; }).join(',') + '}'; }).join(' '), d.trafficPolicy.join(', ')] };
        })));
        out.push(table('policies that select its workloads', ['Kind', 'Name', 'Summary'], s.policies.map(function (p) { return { cells: [p.kind, p.name, p.summary] }; })));
        out.push(el('h2', {}, ['Endpoints']));
        out.push(table('registered endpoints', ['Address', 'Version', 'Workload', 'Registration', 'Identity'], s.endpoints.map(function (e) { return { cells: [e.address, e.version, e.workload, e.registration, e.identity] }; })));
        out.push(table("as callers' sidecars hold it: healthy hosts (the fewest any caller sees) and outlier ejections", ['Cluster', 'Subset', 'Callers', 'Healthy', 'Total', 'Ejected', 'Ejected by'], s.clusters.map(function (c) {
          return { cells: [c.cluster, c.subset, c.callers, el('span', { class: c.minHealthy < c.total ? 'warn' : '' }, [String(c.minHealthy)]), c.total, el('span', { class: c.ejectionsActive > 0 ? 'bad' : '' }, [String(c.ejectionsActive)]), c.ejectedBy.join(', ')] };
        }), [0, 0, 1, 1, 1, 1, 0]));
        return out;
      });
    },
    proxies: function () {
      return getJSON('/api/dashboard/proxies').then(function (list) {
        var types = list.length ? list[0].types.map(function (t) { return t.type; }) : ['CDS', 'LDS', 'EDS', 'RDS', 'VHDS'];
        return [el('h2', {}, ['Proxies']), table('connected proxies and what they run', ['Proxy', 'Service', 'Version', 'xDS'].concat(types, ['NACK', 'Metrics']), list.map(function (p) {
          var nacks = p.types.filter(function (t) { return t.nack; }).map(function (t) { return t.type + ': ' + t.nack.message; }).join('; ');
          var scrape = p.telemetryPort === null ? 'no telemetry port' : p.scrape ? (p.scrape.ok ? ':' + p.telemetryPort + ' ok' : ':' + p.telemetryPort + ' ' + p.scrape.error) : ':' + p.telemetryPort;
          return { attrs: { 'data-proxy': p.id }, cells: [p.id, p.service, p.version, p.protocol].concat(p.types.map(function (t) {
            return el('span', { class: t.state === 'SYNCED' ? 'ok' : t.state === 'NACKED' ? 'bad' : t.state === 'N/A' ? 'muted' : 'warn' }, [t.state]);
          }), [el('span', { class: nacks ? 'bad' : '' }, [nacks]), scrape]) };
        }))];
      });
    },
    config: function () {
      return getJSON('/api/dashboard/config').then(function (c) {
        var files = Object.keys(c.files || {}).sort();
        return [
          el('h2', {}, ['Active config (version ' + c.version + ')']),
          table('config sources', ['File', 'Valid', 'Resources', 'Errors', 'Loaded'], files.map(function (f) { var s = c.files[f]; return { cells: [f, s.ok ? 'yes' : el('span', { class: 'bad' }, ['no']), s.resources, s.errors, s.loadedAt] }; }), [0, 0, 1, 1, 0]),
          table('errors (the last good content of each file is what runs)', ['Code', 'File', 'Line', 'Resource', 'Field', 'Message'], (c.errors || []).map(function (e) { return { attrs: { class: 'errors' }, cells: [e.code, e.file, e.line, e.resource, e.path, e.message] }; })),
          table('kinds parsed but not handled', ['Kind', 'Name', 'Namespace'], (c.skipped || []).map(function (s) { return { cells: [s.apiVersion + ' ' + s.kind, s.name, s.namespace] }; })),
        ];
      });
    },
  };

  function route() {
    var parts = (location.hash.replace(/^#/, '') || 'graph').split('/');
    return { name: views[parts[0]] ? parts[0] : 'graph', args: parts.slice(1) };
  }
  function refresh() {
    var r = route();
    var mine = ++seq;
    document.querySelectorAll('nav a').forEach(function (a) {
      if (a.getAttribute('href') === '#' + (r.name === 'service' ? 'services' : r.name)) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    });
    return views[r.name](rangeEl.value, r.args).then(function (nodes) {
      if (mine !== seq) return;
      var scrollX = window.scrollX, scrollY = window.scrollY;
      view.replaceChildren.apply(view, nodes);
      window.scrollTo(scrollX, scrollY);
      statusEl.textContent = 'updated ' + new Date().toLocaleTimeString();
      view.setAttribute('data-updated', String(Date.now()));
    }, function (err) {
      if (mine === seq) statusEl.textContent = 'cannot load: ' + err.message;
    });
  }
  function schedule() {
    clearInterval(timer);
    // A hidden tab does not poll: nobody reads it, and the control plane need not answer it.
    if (liveEl.checked) timer = setInterval(function () { if (!document.hidden) refresh(); }, 2000);
  }
  window.addEventListener('hashchange', function () { refresh(); view.focus(); });
  rangeEl.addEventListener('change', refresh);
  liveEl.addEventListener('change', schedule);
  document.addEventListener('visibilitychange', function () { if (!document.hidden) refresh(); });
  refresh();
  schedule();
})();
`;
