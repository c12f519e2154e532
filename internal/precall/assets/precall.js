// The pre-call page: starts a session, asks for camera and microphone,
// runs the page checks the server hands out (rtcprobe.js, the same
// functions rtcprobe runs in its own browser), posts their raw results and
// shows the verdict the server judged. No inline script: the page's CSP
// allows only files from this server.
'use strict';

(() => {
  if (window.rtcprobeMissing && window.rtcprobeMissing.length) return; // support.js says why
  const $ = (id) => document.getElementById(id);
  const now = () => performance.now();
  const root = document.documentElement;
  let running = false;

  function show(id, on) { $(id).hidden = !on; }

  function state(s) { root.dataset.precall = s; }

  // The order the checks run in: quick ones and gathering first, capture
  // next (in pairs that use different devices), the calls last, one at a
  // time so they do not compete for the network.
  const stages = [
    ['api', 'codecs', 'ice'],
    ['devices'],
    ['getUserMedia'],
    ['videoQuality', 'audioQuality'],
    ['interop'],
  ];
  const parallel = { api: true, codecs: true, ice: true, getUserMedia: true, videoQuality: true, audioQuality: true };

  const stepText = {
    api: 'Looking at what this browser supports…',
    codecs: 'Listing the browser\u2019s codecs…',
    ice: 'Reaching the servers…',
    devices: 'Finding your camera and microphone…',
    getUserMedia: 'Opening your camera and microphone…',
    videoQuality: 'Looking at your camera\u2019s picture and listening to your microphone…',
    audioQuality: 'Looking at your camera\u2019s picture and listening to your microphone…',
    interop: 'Making a test call to the server…',
  };

  // askAccess asks for camera and microphone once, before the checks, and
  // says what happened the way a call app would: allowed, denied, or no
  // such device.
  async function askAccess() {
    const md = navigator.mediaDevices;
    const tryGet = async (c) => {
      try {
        const s = await md.getUserMedia(c);
        s.getTracks().forEach((t) => t.stop());
        return null;
      } catch (e) {
        return e && e.name ? e.name : 'Error';
      }
    };
    $('step').textContent = 'Waiting for you to allow the camera and microphone…';
    const both = await tryGet({ audio: true, video: true });
    if (!both) return { state: 'allowed' };
    if (both === 'NotAllowedError' || both === 'SecurityError') return { state: 'denied' };
    // One of the two may be missing or busy: ask for each.
    const mic = await tryGet({ audio: true });
    const cam = await tryGet({ video: true });
    if (mic && cam) return { state: (mic === 'NotFoundError' && cam === 'NotFoundError') ? 'nodevice' : 'failed', mic, cam };
    return { state: 'partial', mic, cam };
  }

  function explainAccess(a) {
    const title = $('access-title'); const text = $('access-text');
    switch (a.state) {
      case 'allowed':
        show('access', false);
        return;
      case 'denied':
        title.textContent = 'Camera and microphone are blocked';
        text.textContent = 'Allow them for this site (the camera icon in the address bar, or the browser\u2019s site settings) and in your system\u2019s privacy settings, then run the check again. The network part of the check runs anyway.';
        break;
      case 'nodevice':
        title.textContent = 'No camera or microphone found';
        text.textContent = 'Connect a camera and a microphone (or a headset), or enable them in your system settings, then run the check again.';
        break;
      case 'partial':
        title.textContent = a.cam ? 'Your camera could not be opened' : 'Your microphone could not be opened';
        text.textContent = ((a.cam || a.mic) === 'NotFoundError' ? 'None was found. ' : 'It may be in use by another app. ') + 'The rest of the check runs anyway.';
        break;
      default:
        title.textContent = 'Your camera and microphone could not be opened';
        text.textContent = 'Another app may be using them (close it), or they failed to start (reconnect them). The rest of the check runs anyway.';
    }
    show('access', true);
  }

  async function runTask(t) {
    const t0 = now();
    const r = await rtcprobe.run(t.name, t.arg);
    const out = { task: t.id, ok: !!r.ok, ms: now() - t0 };
    if (r.ok) out.result = r.result;
    else out.error = r.error;
    return out;
  }

  function fail(why) {
    show('progress', false);
    $('failed-text').textContent = why;
    show('failed', true);
    state('error');
    running = false;
  }

  async function readError(resp) {
    const text = (await resp.text()).trim();
    return text.length > 300 ? text.slice(0, 300) + '…' : text;
  }

  async function start() {
    if (running) return;
    running = true;
    const t0 = now();
    state('running');
    ['intro', 'verdict', 'failed', 'access'].forEach((id) => show(id, false));
    show('progress', true);
    $('bar').value = 0;
    $('step').textContent = 'Starting…';
    let sess;
    try {
      const resp = await fetch('api/precall/session', { method: 'POST' });
      if (!resp.ok) return fail(resp.status === 429 ? 'Too many checks from your network in the last minute: wait a minute and try again.' : await readError(resp));
      sess = await resp.json();
    } catch (e) {
      return fail('The server could not be reached: ' + e.message);
    }
    const tasks = sess.tasks;
    const steps = tasks.length + 1;
    let done = 0;
    const tick = () => { done++; $('bar').value = Math.round(100 * done / steps); };
    explainAccess(await askAccess());
    tick();
    const results = [];
    for (const stage of stages) {
      const mine = tasks.filter((t) => stage.includes(t.name));
      if (mine.length === 0) continue;
      $('step').textContent = stepText[mine[0].name] || 'Checking…';
      if (mine.every((t) => parallel[t.name])) {
        const rs = await Promise.all(mine.map((t) => runTask(t).then((r) => { tick(); return r; })));
        results.push(...rs);
      } else {
        for (const t of mine) {
          if (t.name === 'interop') $('step').textContent = 'Making a test call to the server (' + t.target + ')…';
          results.push(await runTask(t));
          tick();
        }
      }
    }
    $('step').textContent = 'Sending the results…';
    let verdict;
    try {
      const resp = await postResults(sess.token, JSON.stringify({ user_agent: navigator.userAgent, results }));
      if (!resp.ok) return fail('The server refused the results: ' + await readError(resp));
      verdict = await resp.json();
    } catch (e) {
      return fail('The results could not be sent: ' + e.message);
    }
    render(verdict, now() - t0);
  }

  // postResults sends the results; a 503 (the server is busy, or could
  // not store them yet: the token stays good until a result is stored)
  // is retried after its Retry-After, growing, a few times.
  async function postResults(token, body) {
    const waits = [2, 4, 8, 16, 30];
    for (let i = 0; ; i++) {
      const resp = await fetch('api/precall/result', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Rtcprobe-Session': token },
        body,
      });
      if (resp.status !== 503 || i >= waits.length) return resp;
      const asked = parseInt(resp.headers.get('Retry-After') || '', 10);
      const wait = Math.min(60, Math.max(waits[i], Number.isFinite(asked) ? asked : 0));
      $('step').textContent = 'The server could not save the results yet; trying again in ' + wait + ' s…';
      await new Promise((ok) => setTimeout(ok, wait * 1000));
      $('step').textContent = 'Sending the results…';
    }
  }

  function render(v, ms) {
    show('progress', false);
    $('headline').textContent = v.headline;
    const lines = $('lines');
    lines.textContent = '';
    for (const l of v.lines) {
      const li = document.createElement('li');
      li.textContent = l;
      lines.appendChild(li);
    }
    $('report-id').textContent = v.id;
    $('report-link').href = v.link;
    const body = $('details').tBodies[0];
    body.textContent = '';
    for (const d of v.details) {
      const tr = document.createElement('tr');
      const cells = [d.title, d.target, d.status, (d.measured || []).join(', '), d.advice || d.error || ''];
      cells.forEach((c, i) => {
        const td = document.createElement('td');
        td.textContent = c;
        if (i === 2) td.className = d.status;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
    show('verdict', true);
    root.dataset.verdict = v.verdict;
    root.dataset.reportId = v.id;
    root.dataset.elapsedMs = String(Math.round(ms));
    state('done');
    running = false;
  }

  function ready() {
    $('start').addEventListener('click', start);
    $('again').addEventListener('click', start);
    state('ready');
    if (new URLSearchParams(location.search).get('autostart') === '1') start();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', ready);
  else ready();
})();
