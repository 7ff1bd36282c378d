// 利州区放心舒心消费信息共享平台 · 查询台 (the officials' console).
// Plain JavaScript, no build step, no external resource. Everything shown comes from the hub's API
// (/openapi.json). Untrusted text is only ever set with textContent, never as HTML.
'use strict';

(() => {
  // ------------------------------------------------------------ reference names
  const TYPES = [
    ['merchant.registered', '主体登记', 't-registered'],
    ['complaint.received', '投诉受理', 't-complaint'],
    ['complaint.assigned', '投诉转办', 't-complaint'],
    ['complaint.closed', '投诉办结', 't-good'],
    ['inspection.completed', '检查', 't-check'],
    ['sampling.completed', '抽检', 't-check'],
    ['penalty.imposed', '行政处罚', 't-bad'],
    ['certification.granted', '认证授予', 't-good'],
    ['certification.revoked', '认证撤销', 't-bad'],
    ['credit.listed', '列入名录', 't-bad'],
    ['credit.delisted', '移出名录', 't-good'],
    ['warning.issued', '消费警示', 't-warning'],
    ['incident.detected', '事件预警', 't-warning'],
    ['merchant.linked', '关联经营者', 't-check'],
  ];
  const TYPE_NAME = Object.fromEntries(TYPES.map(([t, zh]) => [t, zh]));
  const TYPE_CLASS = Object.fromEntries(TYPES.map(([t, , c]) => [t, c]));

  const CHANNEL = { '12315': '12315 热线', '12345': '12345 热线', '12331': '12331 热线', visit: '来访', online: '网络', letter: '来信' };
  const OUTCOME = { mediated: '调解成功', refunded: '已退款', rejected: '不予支持', withdrawn: '投诉人撤回', referred_to_case: '诉转案' };
  const INSPECTION_KIND = { random: '“双随机”抽查', special: '专项检查', routine: '日常检查' };
  const INSPECTION_RESULT = { pass: '合格', rectify: '责令整改', fail: '不合格' };
  const SAMPLING_RESULT = { pass: '合格', fail: '不合格' };
  const PENALTY_KIND = { warning: '警告', fine: '罚款', confiscation: '没收', suspension: '责令停产停业', revocation: '吊销许可证照' };
  const SCHEME = {
    demo_unit: '放心舒心消费示范单位', star_farmhouse: '星级农家乐', organic: '有机产品认证',
    contract_credit: '守合同重信用', geo_mark: '地理标志商标',
  };
  const LIST = { abnormal_operation: '经营异常名录', serious_violation: '严重违法失信名单' };
  const SATISFACTION = { 1: '很不满意', 2: '不满意', 3: '一般', 4: '满意', 5: '很满意' };

  // Chinese labels of the data fields, for the detail view of an event.
  const FIELD = {
    name: '名称', township: '乡镇街道', industry: '行业', address: '地址', registered_at: '登记日期',
    complaint_id: '投诉编号', channel: '受理渠道', category: '投诉类别', summary: '投诉摘要', received_at: '受理时间',
    amount_cny: '涉及金额（元）', consumers: '涉及消费者（人）', merchant_name: '经营者名称（未关联）',
    consumer: '消费者信息（仅本单位可见）', to_bureau: '转办单位', deadline: '办结时限', outcome: '办结结果',
    closed_at: '办结时间', compensation_cny: '赔偿金额（元）', satisfaction: '满意度', inspection_id: '检查编号',
    kind: '类别', result: '结果', inspected_at: '检查时间', findings: '检查发现', sample_id: '抽检编号',
    product: '抽检产品', sampled_at: '抽检时间', decision_no: '处罚决定书文号', legal_basis: '处罚依据',
    decided_at: '决定时间', fine_cny: '罚款金额（元）', cert_id: '证书编号', scheme: '认证类别', level: '等级',
    granted_at: '授予时间', valid_until: '有效期至', revoked_at: '撤销时间', reason: '原因', list: '名录',
    listed_at: '列入时间', delisted_at: '移出时间', title: '标题', body: '内容', issued_at: '发布时间',
    incident_id: '预警编号', rule: '触发规则', scope: '范围', count: '数量', window: '时间窗口',
    first_at: '首次发生', last_at: '最近发生', responsible_bureaus: '责任单位',
  };
  const FIELD_ORDER = Object.keys(FIELD);
  const fieldRank = (k) => { const i = FIELD_ORDER.indexOf(k); return i < 0 ? FIELD_ORDER.length : i; };

  // Chinese names of the request fields a problem may name (FieldError.field).
  const PARAM = {
    uscc: '统一社会信用代码', q: '关键词', township: '乡镇街道', industry: '行业', certified: '已认证',
    listed: '失信/异常名录', type: '事件类型', bureau: '报送单位', from: '起始日期', to: '截止日期',
    limit: '每页条数', offset: '起始位置', cursor: '分页位置', Authorization: '访问密钥',
  };
  const TIME_FIELD = /(_at|^deadline|^valid_until)$/;
  const MONEY_FIELD = /_cny$/;

  const refdata = JSON.parse(document.getElementById('refdata')?.textContent || '{"townships":[],"industries":[]}');
  const TOWNSHIP = Object.fromEntries(refdata.townships.map((t) => [t.code, t.name]));
  const INDUSTRY = Object.fromEntries(refdata.industries.map((i) => [i.code, i.name]));
  let BUREAU = {}; // code → 中文名称, from GET /v1/bureaus

  // ------------------------------------------------------------ formatting
  const TZ = 'Asia/Shanghai';
  const dateTimeFmt = new Intl.DateTimeFormat('zh-CN', {
    timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  });
  const dateFmt = new Intl.DateTimeFormat('zh-CN', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' });
  const moneyFmt = new Intl.NumberFormat('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  function validDate(s) {
    const d = new Date(s);
    return s && !Number.isNaN(d.getTime()) && d.getUTCFullYear() > 1 ? d : null;
  }
  const fmtTime = (s) => { const d = validDate(s); return d ? dateTimeFmt.format(d) : '—'; };
  const fmtDate = (s) => { const d = validDate(s); return d ? dateFmt.format(d) : '—'; };
  const fmtMoney = (n) => '¥' + moneyFmt.format(Number(n) || 0);
  const bureauName = (code) => BUREAU[code] || (code === 'hub' ? '本平台（自动预警）' : code) || '未知单位';
  const typeName = (t) => TYPE_NAME[t] || t;
  const townshipName = (s) => TOWNSHIP[s] || s;
  const industryLabel = (code, name) => (code ? `${name || INDUSTRY[code] || ''} ${code}`.trim() : '—');
  const bureauOf = (ev) => (ev.source || '').replace(/^\/(bureaus\/)?/, ''); // /bureaus/amr → amr, /hub → hub

  // The date inputs are Beijing dates; the API wants RFC 3339 instants. "to" is exclusive, so the
  // chosen end date is included by asking for events before the next day's midnight.
  function dayStart(date, plusDays = 0) {
    if (!date) return '';
    const [y, m, d] = date.split('-').map(Number);
    const next = new Date(Date.UTC(y, m - 1, d + plusDays));
    return next.toISOString().slice(0, 10) + 'T00:00:00+08:00';
  }

  // ------------------------------------------------------------ DOM helpers
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid == null || kid === false) continue;
      e.append(kid instanceof Node ? kid : String(kid));
    }
    return e;
  }
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
  const clear = (node) => { node.replaceChildren(); return node; };
  // add appends children, flattening arrays (Node.append would print an array as text).
  const add = (node, ...kids) => { node.append(...kids.flat(Infinity).filter((k) => k != null && k !== false)); return node; };
  const empty = (text) => el('p', { class: 'empty' }, text);

  // ------------------------------------------------------------ API
  const KEY_STORE = 'fangxin.console.key';
  const getKey = () => sessionStorage.getItem(KEY_STORE) || '';

  class ApiProblem extends Error {
    constructor(p) {
      super(p.title);
      this.problem = p;
    }
  }

  async function api(path, params, post) {
    const url = new URL(path, location.origin);
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== '' && v != null) url.searchParams.set(k, v);
    }
    const headers = { Accept: 'application/json, application/problem+json' };
    const key = getKey();
    if (key) headers.Authorization = 'Bearer ' + key;
    const init = { headers, cache: 'no-store' };
    if (post !== undefined) {
      init.method = 'POST';
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(post);
    }
    let res;
    try {
      res = await fetch(url, init);
    } catch (err) {
      throw new ApiProblem({ title: '无法连接平台', detail: '网络不通或平台服务未启动，请稍后重试。（' + err.message + '）' });
    }
    const type = res.headers.get('Content-Type') || '';
    const body = type.includes('json') ? await res.json().catch(() => null) : null;
    if (!res.ok) {
      if (body && body.title) throw new ApiProblem(body);
      throw new ApiProblem({ title: `请求失败（HTTP ${res.status}）`, detail: '平台返回了无法识别的答复。', status: res.status });
    }
    return body;
  }

  // ------------------------------------------------------------ messages
  const alertBox = $('#alert');
  function showProblem(err) {
    const p = err instanceof ApiProblem ? err.problem : { title: '页面出错', detail: String(err && err.message || err) };
    clear(alertBox).className = 'alert';
    alertBox.append(el('strong', null, p.title || '请求失败'));
    if (p.detail) alertBox.append(el('div', null, p.detail));
    const errors = (Array.isArray(p.errors) ? p.errors : []).filter((e) => e.detail && e.detail !== p.detail);
    if (errors.length) {
      alertBox.append(el('ul', null, errors.map((e) => el('li', null, `${PARAM[e.field] || e.field || '事件'}：${e.detail}`))));
    }
    if (p.status === 401) alertBox.append(el('div', null, '请在页面右上角粘贴本单位的访问密钥后重试。'));
    alertBox.hidden = false;
    if (p.status === 401) setKeyStatus('密钥无效', 'bad');
  }
  function showInfo(text) {
    clear(alertBox).className = 'alert info';
    alertBox.append(text);
    alertBox.hidden = false;
  }
  const hideAlert = () => { alertBox.hidden = true; };

  // ------------------------------------------------------------ key
  const keyInput = $('#key-input');
  const keyStatus = $('#key-status');
  function setKeyStatus(text, cls) {
    keyStatus.textContent = text;
    keyStatus.className = 'key-status ' + (cls || '');
  }
  async function checkKey() {
    if (!getKey()) { setKeyStatus('未填写', 'bad'); return false; }
    try {
      await api('/v1/unlinked', { limit: 1 });
      setKeyStatus('密钥有效', 'ok');
      return true;
    } catch (err) {
      showProblem(err);
      setKeyStatus('密钥无效', 'bad');
      return false;
    }
  }
  $('#key-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const key = keyInput.value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORE, key);
    keyInput.value = '';
    keyInput.placeholder = '已保存（仅本次会话）';
    hideAlert();
    if (await checkKey()) route();
  });
  $('#key-clear').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_STORE);
    keyInput.value = '';
    keyInput.placeholder = '粘贴密钥，如 fx_amr_…';
    setKeyStatus('已清除', '');
  });

  // ------------------------------------------------------------ filters
  function fillSelects() {
    for (const sel of $$('.type-select')) {
      add(clear(sel), el('option', { value: '' }, '全部类型'), TYPES.map(([t, zh]) => el('option', { value: t }, zh)));
    }
    for (const sel of $$('.bureau-select')) {
      const current = sel.value;
      add(clear(sel), el('option', { value: '' }, '全部单位'),
        Object.entries(BUREAU).map(([code, name]) => el('option', { value: code }, name)));
      sel.value = current;
    }
  }
  function fillDatalists() {
    add($('#township-list'), refdata.townships.map((t) => el('option', { value: t.name }, t.code)));
    add($('#industry-list'), refdata.industries.map((i) => el('option', { value: i.code }, i.name)));
  }
  async function loadBureaus() {
    try {
      const res = await api('/v1/bureaus');
      const map = {};
      for (const b of res.bureaus || []) {
        const code = b.code ?? b.Code;
        map[code] = b.name_zh ?? b.NameZH ?? code;
      }
      BUREAU = map;
    } catch (err) {
      showProblem(err);
    }
    fillSelects();
  }
  const formValues = (form) => Object.fromEntries(new FormData(form).entries());

  // ------------------------------------------------------------ events, shared by every list
  const money = (v) => (v == null ? '' : fmtMoney(v));

  // One line saying what happened, in the words of the office.
  function describe(ev) {
    const d = ev.data && typeof ev.data === 'object' ? ev.data : {};
    switch (ev.type) {
      case 'merchant.registered':
        return `${d.name || ''}，${townshipName(d.township || '')} ${d.address || ''}，行业 ${industryLabel(d.industry)}`;
      case 'complaint.received': {
        const extra = [d.amount_cny != null && `涉及金额 ${money(d.amount_cny)}`, d.consumers > 1 && `${d.consumers} 名消费者`].filter(Boolean);
        return `【${CHANNEL[d.channel] || d.channel || ''}】${d.category || ''}：${d.summary || ''}${extra.length ? `（${extra.join('，')}）` : ''}`;
      }
      case 'complaint.assigned':
        return `投诉 ${d.complaint_id || ''} 转办至${bureauName(d.to_bureau)}，限 ${fmtTime(d.deadline)} 前办结`;
      case 'complaint.closed': {
        const extra = [d.compensation_cny != null && `赔偿 ${money(d.compensation_cny)}`, d.satisfaction && `满意度：${SATISFACTION[d.satisfaction] || d.satisfaction}`].filter(Boolean);
        return `投诉 ${d.complaint_id || ''} 办结：${OUTCOME[d.outcome] || d.outcome || ''}${extra.length ? `（${extra.join('，')}）` : ''}`;
      }
      case 'inspection.completed':
        return `${INSPECTION_KIND[d.kind] || d.kind || '检查'}：${INSPECTION_RESULT[d.result] || d.result || ''}${d.findings ? `。${d.findings}` : ''}`;
      case 'sampling.completed':
        return `抽检 ${d.product || ''}：${SAMPLING_RESULT[d.result] || d.result || ''}`;
      case 'penalty.imposed':
        return `${PENALTY_KIND[d.kind] || d.kind || ''}${d.fine_cny != null ? ` ${money(d.fine_cny)}` : ''}，${d.decision_no || ''}，依据${d.legal_basis || ''}`;
      case 'certification.granted':
        return `授予“${SCHEME[d.scheme] || d.scheme || ''}”${d.level ? `（${d.level}）` : ''}，证书 ${d.cert_id || ''}${d.valid_until ? `，有效期至 ${fmtDate(d.valid_until)}` : ''}`;
      case 'certification.revoked':
        return `撤销“${SCHEME[d.scheme] || d.scheme || ''}”，证书 ${d.cert_id || ''}${d.reason ? `：${d.reason}` : ''}`;
      case 'credit.listed':
        return `列入${LIST[d.list] || d.list || ''}：${d.reason || ''}`;
      case 'credit.delisted':
        return `移出${LIST[d.list] || d.list || ''}：${d.reason || ''}`;
      case 'warning.issued':
        return `${d.title || ''}：${d.body || ''}`;
      case 'merchant.linked':
        return `${d.method === 'auto' ? '平台自动关联' : '工作人员关联'}：${bureauName(bureauOf({ source: d.event_source }))}的事件 ${d.event_id || ''} 关联至本经营主体${d.score ? `（匹配得分 ${Number(d.score).toFixed(2)}）` : ''}${d.note ? '，' + d.note : ''}`;
      case 'incident.detected':
        return `${d.scope || ''}：${d.window || ''} 内 ${d.count ?? ''} 起（规则 ${d.rule || ''}），责任单位：${(d.responsible_bureaus || []).map(bureauName).join('、')}`;
      default:
        return '';
    }
  }

  function fieldValue(type, k, v) {
    if (v == null) return '—';
    if (TIME_FIELD.test(k) && typeof v === 'string') return fmtTime(v);
    if (MONEY_FIELD.test(k)) return fmtMoney(v);
    switch (k) {
      case 'channel': return CHANNEL[v] || v;
      case 'outcome': return OUTCOME[v] || v;
      case 'kind': return (type === 'penalty.imposed' ? PENALTY_KIND : INSPECTION_KIND)[v] || v;
      case 'result': return (type === 'sampling.completed' ? SAMPLING_RESULT : INSPECTION_RESULT)[v] || v;
      case 'scheme': return SCHEME[v] || v;
      case 'list': return LIST[v] || v;
      case 'to_bureau': return bureauName(v);
      case 'responsible_bureaus': return Array.isArray(v) ? v.map(bureauName).join('、') : String(v);
      case 'township': return townshipName(v);
      case 'industry': return industryLabel(v);
      case 'satisfaction': return `${SATISFACTION[v] || ''}（${v}/5）`;
      default: break;
    }
    if (typeof v === 'object') {
      return Object.entries(v).map(([kk, vv]) => `${kk}：${typeof vv === 'object' ? JSON.stringify(vv) : vv}`).join('；');
    }
    return String(v);
  }

  function eventItem(ev, { showMerchant = false } = {}) {
    const d = ev.data && typeof ev.data === 'object' ? ev.data : {};
    const facts = el('dl', { class: 'facts' });
    const fields = Object.entries(d).sort(([a], [b]) => fieldRank(a) - fieldRank(b));
    for (const [k, v] of fields) facts.append(el('dt', null, FIELD[k] || k), el('dd', null, fieldValue(ev.type, k, v)));
    facts.append(el('dt', null, '事件编号'), el('dd', { class: 'code' }, ev.id));
    if (ev.dataschema) facts.append(el('dt', null, '数据规范'), el('dd', { class: 'code' }, ev.dataschema));

    let merchant = null;
    if (showMerchant) {
      merchant = ev.subject
        ? el('a', { href: '#merchant/' + encodeURIComponent(ev.subject), class: 'code' }, ev.subject)
        : el('span', { class: 'badge warn' }, `未关联：${d.merchant_name || '未知经营者'}${d.address ? '，' + d.address : ''}`);
    }
    return el('li', null,
      el('span', { class: 'when', title: '北京时间' }, fmtTime(ev.time)),
      el('span', { class: 'type ' + (TYPE_CLASS[ev.type] || 't-registered') }, typeName(ev.type)),
      el('div', { class: 'what' },
        el('p', { class: 'line' }, describe(ev)),
        el('p', { class: 'meta' }, '报送单位：', bureauName(bureauOf(ev)), merchant && ' · 经营主体：', merchant),
        el('details', null, el('summary', null, '详细信息'), facts)));
  }

  // ------------------------------------------------------------ merchant search
  const merchantForm = $('#merchant-form');
  const merchantResults = $('#merchant-results');
  const PAGE = 20;
  let merchantOffset = 0;

  async function searchMerchants(offset = 0) {
    merchantOffset = offset;
    const v = formValues(merchantForm);
    clear(merchantResults).append(el('p', { class: 'loading' }, '正在查询…'));
    try {
      const res = await api('/v1/merchants', { ...v, limit: PAGE, offset });
      hideAlert();
      renderMerchants(res);
    } catch (err) {
      clear(merchantResults);
      showProblem(err);
    }
  }

  function renderMerchants(res) {
    clear(merchantResults);
    if (!res.merchants.length) {
      merchantResults.append(empty('没有符合条件的经营主体。'));
      return;
    }
    const rows = res.merchants.map((m) => el('tr', { onclick: () => { location.hash = '#merchant/' + encodeURIComponent(m.uscc); } },
      el('td', null, el('a', { href: '#merchant/' + encodeURIComponent(m.uscc) }, m.name || '（未登记名称）')),
      el('td', { class: 'code' }, m.uscc),
      el('td', null, m.township_name || townshipName(m.township || '') || '—'),
      el('td', null, industryLabel(m.industry, m.industry_name)),
      el('td', null, m.address || '—'),
      el('td', null,
        m.certified && el('span', { class: 'badge good' }, '已认证'),
        m.listed && el('span', { class: 'badge bad' }, '列入名录'),
        !m.certified && !m.listed && el('span', { class: 'badge plain' }, '无'))));
    merchantResults.append(
      pager(res.total, merchantOffset, res.merchants.length, (o) => searchMerchants(o)),
      el('div', { class: 'results' }, el('table', null,
        el('thead', null, el('tr', null, ['名称', '统一社会信用代码', '乡镇街道', '行业', '地址', '认证/名录'].map((h) => el('th', null, h)))),
        el('tbody', null, rows))));
  }

  function pager(total, offset, count, go) {
    const prev = el('button', { type: 'button', class: 'quiet', disabled: offset === 0, onclick: () => go(Math.max(0, offset - PAGE)) }, '上一页');
    const next = el('button', { type: 'button', class: 'quiet', disabled: offset + count >= total, onclick: () => go(offset + PAGE) }, '下一页');
    return el('div', { class: 'pager' },
      el('span', null, `共 ${total} 个经营主体，第 ${offset + 1}–${offset + count} 个`),
      el('span', { class: 'buttons' }, prev, next));
  }

  merchantForm.addEventListener('submit', (ev) => { ev.preventDefault(); searchMerchants(0); });
  merchantForm.addEventListener('reset', () => setTimeout(() => clear(merchantResults), 0));

  // ------------------------------------------------------------ merchant profile
  const profileBox = $('#profile');
  const historyForm = $('#history-form');
  const historyList = $('#history');
  const historyMore = $('#history-more');
  const historyCard = $('#history-card');
  let currentUSCC = '';
  let silentReset = false;
  let historyCursor = '';

  function figure(label, value, alarm) {
    return el('div', { class: 'figure' + (alarm ? ' alarm' : '') }, el('div', { class: 'label' }, label), el('div', { class: 'value' }, value));
  }
  function table(headers, rows, rowClass) {
    return el('table', null,
      el('thead', null, el('tr', null, headers.map((h) => el('th', null, h)))),
      el('tbody', null, rows.map((r, i) => el('tr', { class: rowClass ? rowClass(i) : null }, r.map((c) => el('td', null, c))))));
  }

  async function showMerchant(uscc) {
    if (uscc !== currentUSCC) {
      currentUSCC = uscc;
      silentReset = true; // a new merchant starts with no filter; do not load twice
      historyForm.reset();
      silentReset = false;
    }
    clear(profileBox).append(el('p', { class: 'loading' }, '正在读取档案…'));
    clear(historyList);
    historyCard.hidden = true;
    historyMore.hidden = true;
    try {
      const p = await api('/v1/merchants/' + encodeURIComponent(uscc));
      if (uscc !== currentUSCC) return; // the official has moved on to another merchant
      hideAlert();
      renderProfile(p);
      historyCard.hidden = false;
      await loadHistory(false);
    } catch (err) {
      clear(profileBox);
      showProblem(err);
    }
  }

  function renderProfile(p) {
    const open = p.open_complaints || [];
    const certs = p.certifications || [];
    const lists = p.credit_listings || [];
    const now = Date.now();

    const head = el('div', { class: 'profile-head' },
      el('h2', null, p.name || '（未登记名称）'),
      el('span', { class: 'code' }, p.uscc),
      p.registered ? null : el('span', { class: 'badge warn', title: '尚未收到市场监管部门的主体登记事件' }, '未登记'),
      p.certified && el('span', { class: 'badge good' }, '已认证'),
      p.listed && el('span', { class: 'badge bad' }, '列入失信/异常名录'));

    const figures = el('div', { class: 'figures' },
      figure('事件总数', p.event_count),
      figure('未办结投诉', open.length, open.length > 0),
      figure('有效认证', certs.length),
      figure('失信/异常名录', lists.length, lists.length > 0),
      figure('罚款合计', fmtMoney(p.fines_total_cny), p.fines_total_cny > 0),
      figure('最近活动', fmtDate(p.last_activity)));

    const basics = el('dl', { class: 'facts' },
      el('dt', null, '统一社会信用代码'), el('dd', { class: 'code' }, p.uscc),
      el('dt', null, '名称'), el('dd', null, p.name || '—'),
      el('dt', null, '乡镇街道'), el('dd', null, p.township_name || p.township || '—'),
      el('dt', null, '行业'), el('dd', null, industryLabel(p.industry, p.industry_name)),
      el('dt', null, '地址'), el('dd', null, p.address || '—'),
      el('dt', null, '登记日期'), el('dd', null, p.registered_at ? fmtDate(p.registered_at) : '—'),
      el('dt', null, '罚款合计'), el('dd', null, fmtMoney(p.fines_total_cny)),
      el('dt', null, '最近活动'), el('dd', null, fmtTime(p.last_activity)));

    const byType = TYPES.filter(([t]) => p.counts_by_type?.[t]).map(([t, zh]) => el('span', null, zh, el('b', null, p.counts_by_type[t])));
    const byBureau = Object.entries(p.counts_by_bureau || {}).sort((a, b) => b[1] - a[1])
      .map(([code, n]) => el('span', null, bureauName(code), el('b', null, n)));

    const openTable = open.length
      ? table(['投诉编号', '受理单位', '类别', '受理时间', '转办单位', '办结时限'],
        open.map((c) => [c.complaint_id, bureauName(c.bureau), c.category || '—', fmtTime(c.received_at),
          c.assigned_to ? bureauName(c.assigned_to) : '—',
          c.deadline ? [fmtTime(c.deadline), ' ', new Date(c.deadline).getTime() < now ? el('span', { class: 'badge bad' }, '已超期') : null] : '—']),
        (i) => (open[i].deadline && new Date(open[i].deadline).getTime() < now ? 'overdue' : null))
      : el('p', { class: 'none' }, '没有未办结的投诉。');
    const certTable = certs.length
      ? table(['认证类别', '等级', '证书编号', '授予单位', '授予日期', '有效期至'],
        certs.map((c) => [SCHEME[c.scheme] || c.scheme, c.level || '—', c.cert_id, bureauName(c.bureau), fmtDate(c.granted_at), c.valid_until ? fmtDate(c.valid_until) : '—']))
      : el('p', { class: 'none' }, '没有有效认证。');
    const listTable = lists.length
      ? table(['名录', '原因', '列入单位', '列入日期'],
        lists.map((l) => [el('span', { class: 'badge bad' }, LIST[l.list] || l.list), l.reason, bureauName(l.bureau), fmtDate(l.listed_at)]))
      : el('p', { class: 'none' }, '未列入经营异常名录或严重违法失信名单。');

    clear(profileBox).append(el('section', { class: 'card' },
      head, figures,
      el('div', { class: 'columns' },
        el('div', null, el('h3', null, '基本信息'), basics),
        el('div', null,
          el('h3', null, '各类事件数'), byType.length ? el('div', { class: 'counts' }, byType) : el('p', { class: 'none' }, '—'),
          el('h3', { class: 'section' }, '报送单位'), byBureau.length ? el('div', { class: 'counts' }, byBureau) : el('p', { class: 'none' }, '—'))),
      el('div', { class: 'section' }, el('h3', null, '未办结投诉'), openTable),
      el('div', { class: 'columns section' },
        el('div', null, el('h3', null, '有效认证'), certTable),
        el('div', null, el('h3', null, '失信/异常名录'), listTable))));
  }

  async function loadHistory(more) {
    const v = formValues(historyForm);
    const params = { type: v.type, bureau: v.bureau, from: dayStart(v.from), to: dayStart(v.to, 1), limit: 30 };
    if (more && historyCursor) params.cursor = historyCursor;
    if (!more) clear(historyList).append(el('li', { class: 'loading' }, '正在读取事件记录…'));
    historyMore.disabled = true;
    const uscc = currentUSCC;
    try {
      const res = await api('/v1/merchants/' + encodeURIComponent(uscc) + '/history', params);
      if (uscc !== currentUSCC) return;
      if (!more) clear(historyList);
      add(historyList, res.events.map((ev) => eventItem(ev)));
      if (!historyList.children.length) historyList.append(el('li', { class: 'empty' }, '没有符合条件的事件。'));
      historyCursor = res.next_cursor || '';
      historyMore.hidden = !historyCursor;
    } catch (err) {
      if (!more) clear(historyList);
      showProblem(err);
    } finally {
      historyMore.disabled = false;
    }
  }
  historyForm.addEventListener('submit', (ev) => { ev.preventDefault(); hideAlert(); loadHistory(false); });
  historyForm.addEventListener('reset', () => {
    if (!silentReset) setTimeout(() => { if (currentUSCC) loadHistory(false); }, 0);
  });
  historyMore.addEventListener('click', () => loadHistory(true));

  // ------------------------------------------------------------ event search
  const eventForm = $('#event-form');
  const eventList = $('#event-results');
  const eventSummary = $('#event-summary');
  const eventsMore = $('#events-more');
  let eventOffset = 0;
  let eventTotal = 0;

  async function searchEvents(more) {
    const v = formValues(eventForm);
    if (!more) eventOffset = 0;
    const params = { q: v.q.trim(), type: v.type, bureau: v.bureau, township: v.township.trim(),
      from: dayStart(v.from), to: dayStart(v.to, 1), limit: PAGE, offset: eventOffset };
    if (!more) { clear(eventList); eventSummary.textContent = '正在检索…'; }
    eventsMore.disabled = true;
    try {
      const res = await api('/v1/events', params);
      hideAlert();
      eventTotal = res.total;
      eventOffset += res.events.length;
      add(eventList, res.events.map((ev) => eventItem(ev, { showMerchant: true })));
      eventSummary.textContent = res.total ? `共 ${res.total} 条事件，已显示 ${eventOffset} 条（最新在前）` : '没有符合条件的事件。';
      eventsMore.hidden = eventOffset >= eventTotal || res.events.length === 0;
    } catch (err) {
      eventSummary.textContent = '';
      showProblem(err);
    } finally {
      eventsMore.disabled = false;
    }
  }
  eventForm.addEventListener('submit', (ev) => { ev.preventDefault(); searchEvents(false); });
  eventForm.addEventListener('reset', () => setTimeout(() => { clear(eventList); eventSummary.textContent = ''; eventsMore.hidden = true; }, 0));
  eventsMore.addEventListener('click', () => searchEvents(true));

  // ------------------------------------------------------------ unlinked events
  const unlinkedList = $('#unlinked');
  const unlinkedMore = $('#unlinked-more');
  let unlinkedLimit = 50;

  // candidateBox lists the best registered merchants for an unlinked event, each with a button
  // that links the event to it (POST /v1/unlinked/{bureau}/{id}/link).
  function candidateBox(ev, cands) {
    const box = el('div', { class: 'meta' }, '候选经营主体：');
    if (!cands.length) return add(box, '无（名称与登记信息中的经营者都不相近）');
    return add(box, el('ul', null, cands.map((c) => el('li', null,
      el('a', { href: '#merchant/' + encodeURIComponent(c.uscc) }, c.name), ' ',
      `${c.township_name || ''} ${c.address || ''}（匹配得分 ${Number(c.score).toFixed(2)}） `,
      el('button', {
        type: 'button', class: 'quiet',
        onclick: async (e) => {
          if (!confirm(`确认将此事件关联至「${c.name}」（${c.uscc}）？关联将记录在共享视图中。`)) return;
          e.target.disabled = true;
          try {
            await api(`/v1/unlinked/${encodeURIComponent(bureauOf(ev))}/${encodeURIComponent(ev.id)}/link`, null, { uscc: c.uscc });
            showInfo(`已关联至「${c.name}」，稍后即从未关联列表中移出。`);
            setTimeout(showUnlinked, 1000);
          } catch (err) {
            e.target.disabled = false;
            showProblem(err);
          }
        },
      }, '关联')))));
  }

  async function showUnlinked() {
    clear(unlinkedList).append(el('li', { class: 'loading' }, '正在读取…'));
    try {
      const res = await api('/v1/unlinked', { limit: unlinkedLimit });
      hideAlert();
      add(clear(unlinkedList), res.events.map((ev, i) => {
        const li = eventItem(ev, { showMerchant: true });
        li.querySelector('.what').append(candidateBox(ev, (res.candidates && res.candidates[i]) || []));
        return li;
      }));
      if (!res.events.length) unlinkedList.append(el('li', { class: 'empty' }, '没有未关联的事件。'));
      unlinkedMore.hidden = res.events.length < unlinkedLimit || unlinkedLimit >= 500;
    } catch (err) {
      clear(unlinkedList);
      showProblem(err);
    }
  }
  unlinkedMore.addEventListener('click', () => { unlinkedLimit = Math.min(500, unlinkedLimit * 2); showUnlinked(); });

  // ------------------------------------------------------------ routing (#search, #merchant/{uscc}, #events, #unlinked)
  let searched = false;
  function route() {
    const hash = decodeURIComponent(location.hash.slice(1)) || 'search';
    const [view, arg] = hash.split('/');
    const name = ['search', 'merchant', 'events', 'unlinked'].includes(view) ? view : 'search';
    for (const v of $$('.view')) v.hidden = v.id !== 'view-' + name;
    const tab = name === 'merchant' ? 'search' : name;
    for (const a of $$('.tabs a')) a.classList.toggle('active', a.dataset.tab === tab);
    if (!getKey()) {
      showInfo('请先在页面右上角粘贴本单位的访问密钥（由平台管理员发放），密钥只保存在本次浏览会话中。');
      return;
    }
    if (name === 'merchant' && arg) showMerchant(arg.trim().toUpperCase());
    else if (name === 'unlinked') showUnlinked();
    else if (name === 'search' && !searched) { searched = true; searchMerchants(0); }
  }
  window.addEventListener('hashchange', route);

  // ------------------------------------------------------------ start
  fillDatalists();
  fillSelects();
  if (getKey()) { keyInput.placeholder = '已保存（仅本次会话）'; checkKey(); } else setKeyStatus('未填写', 'bad');
  loadBureaus().then(route);
})();
