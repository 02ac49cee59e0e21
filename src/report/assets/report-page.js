/* global document, window */
// report.html's script: renders the run embedded as JSON in #phonehome-data. Plain browser
// JavaScript, no library, no network. Captured traffic is hostile input: it only ever reaches the
// page as text nodes (textContent), never as markup. Long lists are paged, so a capture of 10,000
// exchanges stays quick: only one page of rows is in the DOM at a time.
(function () {
  'use strict';

  const MARK_START = '\ue000';
  const MARK_SEP = '\ue001';
  const MARK_END = '\ue002';
  const FINDINGS_PER_PAGE = 50;
  const TIMELINE_PER_PAGE = 100;

  const data = JSON.parse(document.getElementById('phonehome-data').textContent);
  const state = {
    host: '',
    kind: '',
    phase: '',
    search: '',
    withFindings: false,
    findingsPage: 0,
    timelinePage: 0,
    open: new Set(),
  };

  /** Creates an element with a class and children (strings become text nodes). */
  function el(tag, className, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const child of children) {
      if (child === undefined || child === null) continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  /** Text with highlight marks (START label SEP text END) as text nodes and <mark>s. */
  function marked(value) {
    const fragment = document.createDocumentFragment();
    let at = 0;
    while (at < value.length) {
      const start = value.indexOf(MARK_START, at);
      if (start < 0) break;
      const sep = value.indexOf(MARK_SEP, start);
      const end = value.indexOf(MARK_END, sep);
      if (sep < 0 || end < 0) break;
      fragment.append(value.slice(at, start));
      const mark = el('mark', null, value.slice(sep + 1, end));
      mark.title = value.slice(start + 1, sep);
      fragment.append(mark);
      at = end + 1;
    }
    fragment.append(value.slice(at));
    return fragment;
  }

  /** A fragment with the match between ⟦ and ⟧ highlighted. */
  function fragmentNode(fragment, label) {
    const code = el('code');
    const open = fragment.indexOf('⟦');
    const close = fragment.lastIndexOf('⟧');
    if (open < 0 || close < open) {
      code.append(fragment);
      return code;
    }
    const mark = el('mark', null, fragment.slice(open + 1, close));
    mark.title = label;
    code.append(fragment.slice(0, open), mark, fragment.slice(close + 1));
    return code;
  }

  function pill(status) {
    return el('span', `pill ${status}`, status);
  }

  function kindBadge(kind, leak) {
    return el('span', leak ? 'kind leak' : 'kind', kind);
  }

  function seconds(ms) {
    return `+${(ms / 1000).toFixed(3)} s`;
  }

  function table(headers, rows) {
    const head = el('tr');
    for (const header of headers) head.append(el('th', null, header));
    const body = el('tbody');
    for (const row of rows) body.append(row);
    return el('table', null, el('thead', null, head), body);
  }

  function row(cells, className) {
    const tr = el('tr', className || null);
    for (const cell of cells)
      tr.append(cell instanceof window.Node ? el('td', null, cell) : el('td', null, String(cell)));
    return tr;
  }

  function kindsCell(kinds, leak) {
    const span = el('span');
    if (kinds.length === 0) span.append(el('span', 'muted', '—'));
    for (const kind of kinds) span.append(kindBadge(kind, leak));
    return span;
  }

  // ---- header, verdicts, phases, hosts: rendered once ----

  function renderHeader() {
    const run = data.run;
    const header = document.getElementById('summary');
    const device = run.device.firmware
      ? `${run.device.id} (firmware ${run.device.firmware})`
      : run.device.id;
    header.append(
      el(
        'h1',
        null,
        pill(run.status),
        ' ',
        run.qualifier ? el('span', 'qualifier', `(${run.qualifier}) `) : null,
        run.scenario.title,
      ),
      el(
        'div',
        'meta',
        `${run.scenario.name} on ${device} · ${run.startedAt.replace('T', ' ').slice(0, 19)} UTC · ${run.exchanges} exchanges${run.lookups ? ` · ${run.lookups} DNS lookups` : ''} · ${run.findings} findings · run ${run.runId}`,
      ),
    );
    const notes = {
      mask: 'Identifier values are hidden: captured traffic shows labels such as [IMEI-1], findings show masked values. `phonehome report --reveal` writes a page with the values.',
      reveal: 'This page shows identifier values (written with --reveal). Do not share it.',
      redact:
        'Redacted copy: every identifier value and its encodings were replaced by labels such as [IMEI-1]. Safe to attach to a bug report.',
    };
    header.append(el('div', 'note coverage', `Coverage: ${run.coverage}`));
    for (const line of run.route || []) header.append(el('div', 'note route', line));
    header.append(el('div', 'note', notes[run.mode]));
    if (run.error) header.append(el('div', 'note', `The run stopped early: ${run.error}`));
    for (const note of run.notes || []) header.append(el('div', 'note', note));
  }

  function renderVerdicts() {
    const section = document.getElementById('verdicts');
    if (data.verdicts.length === 0) section.append(el('p', 'empty', 'No verdicts.'));
    for (const verdict of data.verdicts) {
      const box = el('div', `verdict ${verdict.status}`);
      box.dataset.status = verdict.status;
      box.append(
        pill(verdict.status),
        ' ',
        el('strong', null, verdict.name),
        el('span', 'muted', ` (${verdict.rule})`),
      );
      if (verdict.summary) box.append(el('div', 'headline', verdict.summary));
      if (verdict.message) {
        const details = el(
          'details',
          'headline',
          el('summary', null, 'details'),
          el('pre', null, verdict.message),
        );
        box.append(details);
      }
      section.append(box);
    }
  }

  function renderPhases() {
    const rows = data.phases.map((phase, p) => {
      const swatch = el('span', `swatch ph${p % 5}`);
      return row(
        [
          el('span', null, swatch, phase.name),
          seconds(phase.from),
          String(phase.exchanges),
          String(phase.findings),
          kindsCell(phase.leaked, true),
          kindsCell(phase.allowed, false),
          kindsCell(phase.unjudged, false),
          String(phase.unreadable),
          pill(phase.status),
        ],
        `phase ph${p % 5}`,
      );
    });
    document
      .getElementById('phases')
      .append(
        table(
          [
            'phase',
            'from',
            'exchanges',
            'findings',
            'before consent',
            'allowed',
            'not judged',
            'unreadable',
            'verdict',
          ],
          rows,
        ),
      );
  }

  function renderHosts() {
    const rows = data.hosts.map((host) => {
      const tr = row(
        [
          el('span', 'mono', host.host),
          String(host.exchanges),
          kindsCell(host.leaked, true),
          kindsCell(host.allowed, false),
          kindsCell(host.unjudged, false),
          String(host.unreadable),
          host.first,
        ],
        'host clickable',
      );
      tr.title = host.summary;
      tr.dataset.host = host.host;
      tr.addEventListener('click', () => {
        const select = document.getElementById('filter-host');
        select.value = host.host;
        state.host = host.host;
        refresh(true);
        document.getElementById('findings').scrollIntoView();
      });
      return tr;
    });
    const section = document.getElementById('hosts');
    section.append(
      table(
        [
          'host',
          'exchanges',
          'before consent',
          'after consent',
          'not judged',
          'unreadable',
          'first contact',
        ],
        rows,
      ),
    );
    const lines = el('ul', 'host-summary');
    for (const host of data.hosts)
      if (host.leaked.length > 0) lines.append(el('li', null, host.summary));
    if (lines.childElementCount > 0) section.append(lines);
  }

  function renderUnreadable() {
    const section = document.getElementById('unreadable');
    if (data.unreadable.length === 0) {
      section.append(el('p', 'empty', 'None: every TLS connection was opened and read.'));
      return;
    }
    const groups = new Map();
    for (const u of data.unreadable) {
      const key = `${u.host}\u0000${u.p}`;
      const group = groups.get(key) || {
        host: u.host,
        p: u.p,
        count: 0,
        causes: new Set(),
        step: data.steps[u.st],
      };
      group.count += 1;
      group.causes.add(u.cause);
      groups.set(key, group);
    }
    const rows = [...groups.values()].map((g) =>
      row(
        [
          el('span', 'mono', g.host),
          data.phases[g.p].name,
          String(g.count),
          [...g.causes].join(', '),
          g.step || '—',
        ],
        `unreadable ph${g.p % 5}`,
      ),
    );
    section.append(
      table(['host (SNI)', 'phase', 'connections', 'cause', 'first during step'], rows),
    );
  }

  // ---- filters ----

  function option(value, text) {
    const node = el('option', null, text);
    node.value = value;
    return node;
  }

  function renderFilters() {
    const host = document.getElementById('filter-host');
    host.append(option('', `all hosts (${data.hosts.length})`));
    for (const h of [...data.hosts].sort((a, b) => a.host.localeCompare(b.host)))
      host.append(option(h.host, h.host));
    const kind = document.getElementById('filter-kind');
    kind.append(option('', 'all kinds'));
    for (const k of data.kinds) kind.append(option(k, k));
    const phase = document.getElementById('filter-phase');
    phase.append(option('', 'all phases'));
    data.phases.forEach((p, i) => phase.append(option(String(i), p.name)));
    const on = (id, event, apply) =>
      document.getElementById(id).addEventListener(event, (e) => {
        apply(e.target);
        refresh(true);
      });
    on('filter-host', 'change', (t) => (state.host = t.value));
    on('filter-kind', 'change', (t) => (state.kind = t.value));
    on('filter-phase', 'change', (t) => (state.phase = t.value));
    on('filter-search', 'input', (t) => (state.search = t.value.trim().toLowerCase()));
    on('filter-with-findings', 'change', (t) => (state.withFindings = t.checked));
    document.getElementById('filter-reset').addEventListener('click', () => {
      state.host = state.kind = state.phase = state.search = '';
      state.withFindings = false;
      for (const id of ['filter-host', 'filter-kind', 'filter-phase', 'filter-search'])
        document.getElementById(id).value = '';
      document.getElementById('filter-with-findings').checked = false;
      refresh(true);
    });
  }

  function findingMatches(f) {
    if (state.host && hostName(f.host) !== state.host) return false;
    if (state.kind && f.kind !== state.kind) return false;
    if (state.phase !== '' && String(f.p) !== state.phase) return false;
    if (state.search) {
      const x = data.exchanges[f.x];
      if (!x || !plain(x.u).toLowerCase().includes(state.search)) return false;
    }
    return true;
  }

  function exchangeMatches(x) {
    if (state.host && hostName(x.h) !== state.host) return false;
    if (state.kind && !x.k.includes(state.kind)) return false;
    if (state.phase !== '' && String(x.p) !== state.phase) return false;
    if (state.withFindings && x.f.length === 0) return false;
    if (state.search && !plain(x.u).toLowerCase().includes(state.search)) return false;
    return true;
  }

  function filtering() {
    return Boolean(
      state.host || state.kind || state.phase !== '' || state.search || state.withFindings,
    );
  }

  /** Host names are indexed: exchanges and findings carry a number into data.hostNames. */
  function hostName(index) {
    return data.hostNames[index];
  }

  function plain(value) {
    return value.replace(/[\ue000-\ue002]/g, '');
  }

  // ---- paged lists ----

  function pager(id, page, pages, total, what, onChange) {
    const box = document.getElementById(id);
    box.textContent = '';
    const previous = el('button', null, '‹ previous');
    previous.disabled = page <= 0;
    previous.addEventListener('click', () => onChange(page - 1));
    const next = el('button', null, 'next ›');
    next.disabled = page >= pages - 1;
    next.addEventListener('click', () => onChange(page + 1));
    box.append(
      previous,
      el(
        'span',
        'page-info',
        `page ${Math.min(page + 1, Math.max(pages, 1))} of ${Math.max(pages, 1)} · ${total} ${what}`,
      ),
      next,
    );
  }

  function renderFindings() {
    const list = data.findings.map((f, i) => [f, i]).filter(([f]) => findingMatches(f));
    const pages = Math.ceil(list.length / FINDINGS_PER_PAGE);
    state.findingsPage = Math.min(state.findingsPage, Math.max(0, pages - 1));
    pager(
      'findings-pager',
      state.findingsPage,
      pages,
      list.length,
      `of ${data.findings.length} findings`,
      (page) => {
        state.findingsPage = page;
        renderFindings();
      },
    );
    const body = document.getElementById('findings-body');
    body.textContent = '';
    if (list.length === 0) {
      const tr = el(
        'tr',
        null,
        el(
          'td',
          'empty',
          data.findings.length === 0
            ? 'Nothing identifying was found.'
            : 'No finding matches the filters.',
        ),
      );
      tr.firstChild.colSpan = 9;
      body.append(tr);
      return;
    }
    const start = state.findingsPage * FINDINGS_PER_PAGE;
    for (const [f] of list.slice(start, start + FINDINGS_PER_PAGE)) {
      const identifier = el(
        'span',
        null,
        el('strong', null, f.label),
        ' ',
        kindBadge(f.kind, f.before),
      );
      const tr = row(
        [
          identifier,
          f.form,
          el('span', 'mono', f.where),
          el('span', 'mono', hostName(f.host)),
          data.steps[f.st] || '—',
          // The phase, and how the finding stands: a leak, allowed, or judged by another consent.
          el(
            'span',
            null,
            data.phases[f.p].name,
            el('div', f.before ? 'leak-flag' : 'muted', f.why),
          ),
          f.evidence,
          fragmentNode(f.fragment, f.label),
          el('a', null, `#${f.x}`),
        ],
        `finding clickable ph${f.p % 5}`,
      );
      tr.dataset.kind = f.kind;
      tr.dataset.host = hostName(f.host);
      tr.dataset.phase = data.phases[f.p].name;
      tr.addEventListener('click', () => showExchange(f.x));
      body.append(tr);
    }
  }

  /** Marks and the exchanges under them, in time order, filtered. */
  function timelineItems() {
    const items = [];
    const marks = data.marks.map((m) => ({ mark: m, t: m.t }));
    const exchanges = data.order.map((i) => data.exchanges[i]).filter(exchangeMatches);
    let m = 0;
    let pendingStep = null;
    const active = filtering();
    const pushMark = (mark) => {
      if (mark.type === 'consent') {
        if (pendingStep && !active) items.push({ mark: pendingStep });
        pendingStep = null;
        items.push({ mark });
      } else if (active) {
        pendingStep = mark;
      } else {
        items.push({ mark });
      }
    };
    for (const x of exchanges) {
      while (m < marks.length && marks[m].t <= x.t) pushMark(marks[m++].mark);
      if (pendingStep) {
        items.push({ mark: pendingStep });
        pendingStep = null;
      }
      items.push({ x });
    }
    while (m < marks.length) pushMark(marks[m++].mark);
    return { items, count: exchanges.length };
  }

  function renderTimeline() {
    const { items, count } = timelineItems();
    const pages = Math.ceil(items.length / TIMELINE_PER_PAGE);
    state.timelinePage = Math.min(state.timelinePage, Math.max(0, pages - 1));
    pager(
      'timeline-pager',
      state.timelinePage,
      pages,
      count,
      `of ${data.exchanges.length} exchanges`,
      (page) => {
        state.timelinePage = page;
        renderTimeline();
      },
    );
    const body = document.getElementById('timeline-body');
    body.textContent = '';
    const start = state.timelinePage * TIMELINE_PER_PAGE;
    for (const item of items.slice(start, start + TIMELINE_PER_PAGE)) {
      if (item.mark) {
        const mark = item.mark;
        const tr = row(
          [
            seconds(mark.t),
            el(
              'span',
              null,
              mark.type === 'consent' ? `consent given: ${mark.name}` : `step: ${mark.name}`,
            ),
          ],
          `mark-row ${mark.type} ph${mark.p % 5}`,
        );
        tr.lastChild.colSpan = 5;
        body.append(tr);
        continue;
      }
      const x = item.x;
      const kinds = el('span');
      const leakedKinds = new Set(
        x.f
          .map((i) => data.findings[i])
          .filter((f) => f.before)
          .map((f) => f.kind),
      );
      for (const kind of x.k) kinds.append(kindBadge(kind, leakedKinds.has(kind)));
      const url = el('span', 'mono');
      url.append(marked(x.u));
      const tr = row(
        [
          seconds(x.t),
          x.m,
          url,
          x.s ? String(x.s) : x.e ? 'error' : '—',
          kinds,
          data.phases[x.p].name,
        ],
        `x-row clickable ph${x.p % 5}`,
      );
      tr.id = `x-${x.i}`;
      tr.dataset.host = hostName(x.h);
      tr.dataset.phase = data.phases[x.p].name;
      tr.addEventListener('click', () => {
        if (state.open.has(x.i)) state.open.delete(x.i);
        else state.open.add(x.i);
        renderTimeline();
      });
      body.append(tr);
      if (state.open.has(x.i)) body.append(details(x));
    }
    if (items.length === 0) {
      const tr = el('tr', null, el('td', 'empty', 'No exchange matches the filters.'));
      tr.firstChild.colSpan = 6;
      body.append(tr);
    }
  }

  function message(title, view) {
    const box = el('div');
    box.append(el('h4', null, title));
    const headers = el('pre');
    for (const [name, value] of view.h) headers.append(`${name}: `, marked(value), '\n');
    box.append(headers);
    if (view.n > 0) {
      box.append(
        el(
          'div',
          'muted',
          `body: ${view.n} bytes${view.bin ? ', binary (one character a byte, · for control bytes)' : ''}${view.b.endsWith('…') ? ' — cut here; capture.har has all of it' : ''}`,
        ),
      );
      const body = el('pre', 'body');
      body.append(marked(view.b));
      box.append(body);
    }
    return box;
  }

  function details(x) {
    const cell = el('td');
    cell.colSpan = 6;
    cell.append(
      el('div', 'muted', `exchange #${x.i} · step ${data.steps[x.st] || '—'} · ${x.d} ms`),
    );
    const line = el('pre');
    line.append(`${x.m} `, marked(x.u));
    cell.append(line);
    const own = x.f.map((i) => data.findings[i]);
    if (own.length > 0) {
      const list = el('ul');
      for (const f of own) {
        list.append(
          el(
            'li',
            null,
            el('strong', null, f.label),
            ` (${f.kind}) as ${f.form} in `,
            el('code', null, f.where),
            ` — ${f.why}: `,
            fragmentNode(f.fragment, f.label),
          ),
        );
      }
      cell.append(list);
    }
    cell.append(message('request', x.q));
    if (x.r) cell.append(message(`response ${x.s}`, x.r));
    if (x.e) cell.append(el('div', 'note', `error: ${x.e}`));
    return el('tr', `details ph${x.p % 5}`, cell);
  }

  /** Opens an exchange in the timeline: clears filters that would hide it, pages to it. */
  function showExchange(index) {
    const x = data.exchanges[index];
    if (!x) return;
    if (!exchangeMatches(x)) {
      state.search = '';
      state.withFindings = false;
      document.getElementById('filter-search').value = '';
      document.getElementById('filter-with-findings').checked = false;
    }
    state.open.add(index);
    const { items } = timelineItems();
    const at = items.findIndex((item) => item.x && item.x.i === index);
    if (at >= 0) state.timelinePage = Math.floor(at / TIMELINE_PER_PAGE);
    renderTimeline();
    const node = document.getElementById(`x-${index}`);
    if (node) node.scrollIntoView({ block: 'center' });
  }

  function refresh(resetPages) {
    if (resetPages) {
      state.findingsPage = 0;
      state.timelinePage = 0;
    }
    renderFindings();
    renderTimeline();
  }

  // Exchanges are journalled when they complete; the timeline shows them by when they started.
  data.order = data.exchanges
    .map((x) => x.i)
    .sort((a, b) => data.exchanges[a].t - data.exchanges[b].t || a - b);

  renderHeader();
  renderVerdicts();
  renderPhases();
  renderHosts();
  renderUnreadable();
  renderFilters();
  refresh(true);
  document.body.dataset.ready = 'true';
})();
