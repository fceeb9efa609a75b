// The counter page of the demo e-card platform. It talks to the reader
// daemon's browser bridge (sscd) for the card and to its own platform for
// the nonce and the verification. No framework, no inline handlers (CSP),
// card data only ever goes into textContent. The PIN is read once, cleared
// at once and never logged.
'use strict';

(function () {
  const bridge = document.querySelector('meta[name="ssc-bridge"]').content.replace(/\/$/, '');
  const $ = (id) => document.getElementById(id);
  const els = {
    service: $('service'), readers: $('readers'), events: $('events'),
    status: $('status'), result: $('result'), pin: $('pin'),
    read: $('read'), link1: $('link1'), link2: $('link2'),
  };

  // Reader state from the event stream: name → reader.
  const readers = new Map();
  // Insertions seen leaving ("reader#insertion").
  const removed = new Set();
  let selected = '';
  let busy = false;

  // Clerk messages for the bridge's error codes (Chinese / English).
  const bridgeMessages = {
    no_card: '读卡器中没有卡 / No card in the reader — insert the social security card',
    card_changed: '卡片已更换 / Another card was inserted — check the card and retry',
    card_removed: '卡片在操作中被取出 / The card was removed during linking — insert it again and retry',
    pin_blocked: 'PIN 已锁定 / The card PIN is blocked — the holder must have it unblocked at the bank or service centre',
    pin_last_try: 'PIN 仅剩最后一次机会 / Only one PIN try left — ask the holder to check the PIN before retrying',
    pin_rate_limited: 'PIN 错误次数过多，请稍后再试 / Too many wrong PINs on this card — wait a few minutes before retrying',
    bank_app_missing: '此卡没有银行账户功能 / This card has no bank account — only level 1 is possible',
    bank_app_unsupported: '本终端不受理此卡的银行应用 / This terminal does not accept the card\'s bank application — only level 1 is possible here',
    bank_app_blocked: '银行账户已锁定 / The card\'s bank account is blocked — level 2 is not possible',
    no_pki: '此卡不支持签名（第二代卡）/ This card cannot sign (2nd-generation card) — it cannot be linked online',
    needs_hsm: '读卡服务未连接加密机 / The reader service has no security module for this 3rd-generation card — ask the administrator',
    origin_not_allowed: '本页面未被授权使用读卡器 / This page is not allowed to use the card reader — ask the administrator',
    bad_host: '读卡服务拒绝了请求 / The card reader service refused the request — ask the administrator',
    busy: '读卡器忙 / The reader is busy — wait a moment and retry',
    timeout: '读卡超时 / The card did not answer in time — retry',
    reader_unavailable: '读卡器不可用 / The card reader is not available — check the cable and retry',
    reader_not_found: '找不到读卡器 / The reader is gone — check the cable',
    not_ssc: '这不是社保卡 / This is not a social security card',
    card_error: '卡片拒绝了操作 / The card refused the operation — check the card and retry',
    hsm_error: '加密机出错 / The security module failed — retry or ask the administrator',
    pin_format: 'PIN 应为 6 位数字 / The PIN must be 6 digits — check the PIN and retry',
    bad_request: '请求无效 / The request was refused — check the PIN and retry',
  };
  const unreachable = '无法连接读卡服务 / Cannot reach the card reader service (sscd)';
  const platformDown = '无法连接签发平台 / Cannot reach the e-card platform — retry';

  class ClerkError extends Error {
    constructor(message, code) { super(message); this.code = code; }
  }

  function clerkMessage(err) {
    if (!err) return '未知错误 / Unknown error';
    if (err.code === 'wrong_pin') {
      const m = /^63C([0-9A-F])$/i.exec(err.sw || '');
      if (m) return 'PIN 错误，还可尝试 ' + parseInt(m[1], 16) + ' 次 / Wrong PIN, ' + parseInt(m[1], 16) + ' tries left';
      return 'PIN 错误 / Wrong PIN';
    }
    return bridgeMessages[err.code] || ('读卡服务错误 / Card reader service error: ' + (err.code || 'unknown'));
  }

  // call POSTs (or GETs when body is undefined) JSON to the bridge; it
  // throws ClerkError with the clerk message.
  async function callBridge(path, body) {
    let resp;
    try {
      const init = { method: body === undefined ? 'GET' : 'POST', mode: 'cors', credentials: 'omit', cache: 'no-store' };
      if (body !== undefined) {
        init.headers = { 'Content-Type': 'application/json' };
        init.body = JSON.stringify(body);
      }
      resp = await fetch(bridge + path, init);
    } catch (e) {
      throw new ClerkError(unreachable, 'unreachable');
    }
    const text = await resp.text();
    if (!resp.ok) {
      let err = {};
      try { err = JSON.parse(text).error || {}; } catch (e) { /* not JSON */ }
      throw new ClerkError(clerkMessage(err), err.code || 'http_' + resp.status);
    }
    return text;
  }

  async function callPlatform(path, bodyText) {
    let resp;
    try {
      resp = await fetch(path, {
        method: 'POST', credentials: 'same-origin', cache: 'no-store',
        headers: { 'Content-Type': 'application/json' }, body: bodyText,
      });
    } catch (e) {
      throw new ClerkError(platformDown, 'platform_unreachable');
    }
    let data;
    try { data = await resp.json(); } catch (e) { throw new ClerkError(platformDown, 'platform_error'); }
    return { ok: resp.ok, data };
  }

  // ---- display ----

  function setStatus(text, kind) {
    if (kind !== 'error') delete els.status.dataset.code;
    els.status.textContent = text;
    els.status.className = 'status' + (kind ? ' ' + kind : '');
  }

  function setService(ok, text) {
    els.service.textContent = text;
    els.service.className = 'service ' + ok;
  }

  function clearResult() { els.result.replaceChildren(); }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function showFields(boxClass, title, fields) {
    const box = el('div', boxClass);
    box.append(el('h3', '', title));
    const dl = el('dl');
    for (const [k, v] of fields) {
      if (v === undefined || v === null || v === '') continue;
      dl.append(el('dt', '', k), el('dd', '', String(v)));
    }
    box.append(dl);
    els.result.replaceChildren(box);
  }

  function maskSSN(s) {
    if (!s || s.length < 10) return s;
    return s.slice(0, 6) + '*'.repeat(s.length - 10) + s.slice(-4);
  }

  function cardLine(r) {
    if (!r.card_present) return ['absent', '无卡 / no card'];
    let t = '有卡 / card present';
    if (r.kind === 'ssc') t = '社保卡 / social security card' + (r.generation ? '（第' + r.generation + '代 / gen ' + r.generation + '）' : '');
    else if (r.kind === 'other') t = '其他卡 / not a social security card';
    return ['present', t + ' · #' + r.insertion];
  }

  function renderReaders() {
    if (!readers.has(selected) || !readers.get(selected).card_present) {
      // Follow the card: pick the first reader holding one.
      for (const [name, r] of readers) {
        if (r.card_present) { selected = name; break; }
      }
      if (!readers.has(selected)) selected = readers.size ? readers.keys().next().value : '';
    }
    const items = [];
    for (const [name, r] of readers) {
      const li = el('li', name === selected ? 'selected' : '');
      li.dataset.reader = name;
      li.dataset.present = r.card_present ? 'true' : 'false';
      li.append(el('div', 'name', name));
      const [cls, text] = cardLine(r);
      li.append(el('div', 'card ' + cls, text));
      items.push(li);
    }
    if (!items.length) items.push(el('li', 'empty', '未发现读卡器 / No reader found'));
    els.readers.replaceChildren(...items);
  }

  const eventText = {
    card_inserted: '插入卡片 / card inserted',
    card_identified: '识别卡片 / card identified',
    card_removed: '取出卡片 / card removed',
    reader_added: '连接读卡器 / reader added',
    reader_removed: '断开读卡器 / reader removed',
    backend_error: '读卡服务故障 / reader service error',
  };

  function logEvent(ev) {
    const li = el('li', 'ev ' + ev.type);
    li.dataset.type = ev.type;
    const t = ev.time ? new Date(ev.time) : new Date();
    li.append(el('time', '', t.toLocaleTimeString('zh-CN', { hour12: false })));
    let text = (eventText[ev.type] || ev.type) + ' — ' + (ev.reader || '');
    if (ev.type === 'card_identified' && ev.kind === 'ssc') text += ' (社保卡 gen ' + (ev.generation || '?') + ')';
    li.append(document.createTextNode(text));
    els.events.prepend(li);
    while (els.events.children.length > 30) els.events.lastElementChild.remove();
  }

  function applyEvent(ev) {
    const r = readers.get(ev.reader) || { name: ev.reader, backend: ev.backend };
    switch (ev.type) {
      case 'reader_added':
        readers.set(ev.reader, { name: ev.reader, backend: ev.backend, card_present: false });
        break;
      case 'reader_removed':
        readers.delete(ev.reader);
        break;
      case 'card_inserted':
        readers.set(ev.reader, { name: ev.reader, backend: ev.backend || r.backend, card_present: true, atr: ev.atr, insertion: ev.insertion });
        if (!busy) { clearResult(); setStatus('卡片已插入 / Card inserted — enter the PIN and choose the level'); }
        break;
      case 'card_identified':
        if (r.insertion === ev.insertion) {
          Object.assign(r, { kind: ev.kind, generation: ev.generation, spec_version: ev.spec_version, protocol: ev.protocol });
          readers.set(ev.reader, r);
        }
        break;
      case 'card_removed':
        removed.add(ev.reader + '#' + ev.insertion);
        if (r.insertion === ev.insertion || !r.insertion) {
          readers.set(ev.reader, { name: ev.reader, backend: r.backend, card_present: false });
        }
        // Keep an error on screen (the card pulled out during an operation).
        if (!busy && ev.reader === selected && !els.status.classList.contains('error')) {
          clearResult();
          setStatus('卡片已取出 / Card removed — insert a card');
        }
        break;
    }
    renderReaders();
    logEvent(ev);
  }

  function connectEvents() {
    let es;
    try {
      es = new EventSource(bridge + '/v1/events');
    } catch (e) {
      setService('down', unreachable);
      return;
    }
    es.addEventListener('open', () => setService('ok', '读卡服务已连接 / Card reader service connected'));
    es.addEventListener('error', () => setService('down', unreachable));
    es.addEventListener('snapshot', (m) => {
      const ev = JSON.parse(m.data);
      readers.clear();
      for (const r of ev.readers || []) readers.set(r.name, r);
      setService('ok', '读卡服务已连接 / Card reader service connected');
      renderReaders();
    });
    for (const type of Object.keys(eventText)) {
      es.addEventListener(type, (m) => applyEvent(JSON.parse(m.data)));
    }
  }

  // ---- actions ----

  function currentCard() {
    const r = readers.get(selected);
    if (!r || !r.card_present) throw new ClerkError(bridgeMessages.no_card, 'no_card');
    return r;
  }

  function setBusy(on) {
    busy = on;
    for (const b of [els.read, els.link1, els.link2]) b.disabled = on;
  }

  // explain turns a failure during a card operation into the clerk message;
  // a card that left the reader meanwhile is reported as removed whatever
  // the daemon could make of the half-finished command.
  async function explain(err, card) {
    if (!(err instanceof ClerkError)) return '未知错误 / Unexpected error: ' + err;
    els.status.dataset.code = err.code || '';
    if (['reader_unavailable', 'card_error', 'timeout', 'card_removed', 'unreachable'].includes(err.code) && card.name) {
      // The daemon may answer before its watcher saw the card go: look for
      // a little while (the event stream, then the reader list).
      for (let i = 0; i < 8; i++) {
        if (removed.has(card.name + '#' + card.insertion)) return bridgeMessages.card_removed;
        try {
          const list = JSON.parse(await callBridge('/v1/readers'));
          const now = list.find((r) => r.name === card.name);
          if (!now || !now.card_present || now.insertion !== card.insertion) return bridgeMessages.card_removed;
        } catch (e) { break; }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    return err.message;
  }

  async function readCard() {
    let card;
    try {
      card = currentCard();
      setBusy(true);
      clearResult();
      setStatus('正在读卡… / Reading the card…', 'busy');
      const info = JSON.parse(await callBridge('/v1/readers/' + encodeURIComponent(card.name) + '/info',
        { format: 'json', insertion: card.insertion }));
      showFields('info', '卡片信息 / Card information', [
        ['姓名 / Name', info.name],
        ['社会保障号码 / SSN', maskSSN(info.ssn)],
        ['卡号 / Card number', info.card_number],
        ['发卡地 / Region', info.region],
        ['有效期至 / Valid until', info.expiry_date],
        ['规范版本 / Spec version', info.version],
      ]);
      setStatus('读卡完成 / Card read', 'ok');
    } catch (err) {
      setStatus(await explain(err, card || {}), 'error');
    } finally {
      setBusy(false);
    }
  }

  async function linkCard(level) {
    // Read the PIN once and clear the field at once, whatever happens.
    const pin = els.pin.value;
    els.pin.value = '';
    let card;
    try {
      card = currentCard();
      if (!/^[0-9]{4,16}$/.test(pin)) throw new ClerkError('请输入卡片 PIN（数字）/ Enter the card PIN (digits)', 'no_pin');
      setBusy(true);
      clearResult();
      setStatus('正在申请签发请求… / Asking the platform for a link request…', 'busy');
      const nonce = await callPlatform('/api/nonce', JSON.stringify({ level }));
      if (!nonce.ok) throw new ClerkError(nonce.data.message || platformDown, nonce.data.code);
      setStatus('请勿取出卡片，正在签名… / Signing with the card — do not remove it…', 'busy');
      const bundle = await callBridge('/v1/readers/' + encodeURIComponent(card.name) + '/link',
        { level, nonce: nonce.data.nonce, pin, insertion: card.insertion });
      setStatus('正在验证… / The platform is verifying…', 'busy');
      const res = await callPlatform('/api/verify', bundle);
      if (!res.data.verified) throw new ClerkError('验证失败：' + res.data.message + ' / Verification failed', res.data.code);
      const c = res.data.card, b = res.data.bank;
      const fields = [
        ['姓名 / Name', c.name],
        ['卡号 / Card number', c.card_number],
        ['社会保障号码 / SSN', c.ssn_masked],
        ['签发级别 / Level', res.data.level === 2 ? '二级 / level 2' : '一级 / level 1'],
      ];
      if (b) fields.push(['银行卡号 / Bank account', b.pan_masked]);
      showFields('verified', '已验证 / Verified', fields);
      setStatus('签发成功 / The card is linked', 'ok');
    } catch (err) {
      setStatus(await explain(err, card || {}), 'error');
    } finally {
      setBusy(false);
    }
  }

  els.readers.addEventListener('click', (e) => {
    const li = e.target.closest('li[data-reader]');
    if (!li || busy) return;
    selected = li.dataset.reader;
    renderReaders();
  });
  els.read.addEventListener('click', () => readCard());
  els.link1.addEventListener('click', () => linkCard(1));
  els.link2.addEventListener('click', () => linkCard(2));

  connectEvents();
})();
