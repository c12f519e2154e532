// rtcprobe browser checks. Each check is an async function that returns a
// plain JSON-able result and never judges it: the thresholds live with
// whoever reads the result (rtcprobe's check catalogue, or a pre-call page).
// rtcprobe.run(name, arg) wraps a check so it always resolves to
// {ok: true, result} or {ok: false, error: {name, message, constraint, op}}.
'use strict';

const rtcprobe = (() => {
  const now = () => performance.now();
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // withOp tags an exception with what was being done, for the report.
  async function withOp(op, promise) {
    try {
      return await promise;
    } catch (e) {
      if (e && typeof e === 'object') {
        try { e.op = op; } catch (_) { /* frozen */ }
      }
      throw e;
    }
  }

  // timeout rejects with a TimeoutError when p has not settled in ms.
  function timeout(p, ms, what) {
    let t;
    const late = new Promise((_, reject) => {
      t = setTimeout(() => {
        const e = new Error(what + ' did not finish in ' + ms + ' ms');
        e.name = 'TimeoutError';
        reject(e);
      }, ms);
    });
    return Promise.race([p, late]).finally(() => clearTimeout(t));
  }

  // gum is getUserMedia with a deadline: a request that never settles (a
  // stuck device, a permission prompt nobody sees) is an answer too.
  function gum(constraints, ms = 6000) {
    const what = 'getUserMedia(' + Object.keys(constraints).filter((k) => constraints[k]).join('+') + ')';
    const p = navigator.mediaDevices.getUserMedia(constraints);
    const bounded = timeout(p, ms, what);
    // A stream that arrives after the deadline is stopped, not leaked.
    bounded.catch(() => p.then(stopAll, () => {}));
    return withOp(what, bounded);
  }

  function stopAll(stream) {
    if (stream) stream.getTracks().forEach((t) => t.stop());
  }

  // hasProcessor: MediaStreamTrackProcessor (Chrome only) hands over raw
  // frames; other browsers get the same numbers through a <video> element
  // and Web Audio.
  const hasProcessor = () => typeof MediaStreamTrackProcessor === 'function';

  // readUntil calls fn with each raw frame (VideoFrame/AudioData) of a
  // track until fn returns true or the time is up; every frame is closed
  // after fn saw it.
  async function readUntil(track, ms, fn) {
    const r = new MediaStreamTrackProcessor({ track }).readable.getReader();
    const end = now() + ms;
    try {
      while (now() < end) {
        const left = end - now();
        const next = await Promise.race([r.read(), sleep(left).then(() => null)]);
        if (!next || next.done) break;
        const stop = fn(next.value);
        next.value.close();
        if (stop) break;
      }
    } finally {
      r.cancel().catch(() => {});
    }
  }

  // eachVideoFrame calls fn(source) with something drawImage accepts, once
  // per new frame, until fn returns true or ms pass: raw frames where the
  // browser has MediaStreamTrackProcessor, else a <video> element with
  // requestVideoFrameCallback (Firefox, Safari), else polled.
  async function eachVideoFrame(track, ms, fn) {
    if (hasProcessor()) return readUntil(track, ms, fn);
    const v = document.createElement('video');
    v.muted = true; v.playsInline = true; v.autoplay = true;
    v.srcObject = new MediaStream([track]);
    try {
      await timeout(v.play(), ms, 'video playback');
      const end = now() + ms;
      if (typeof v.requestVideoFrameCallback === 'function') {
        await new Promise((resolve) => {
          const t = setTimeout(resolve, Math.max(0, end - now()));
          const next = () => v.requestVideoFrameCallback(() => {
            if (now() >= end || fn(v)) { clearTimeout(t); resolve(); } else next();
          });
          next();
        });
        return;
      }
      let last = -1;
      while (now() < end) {
        if (v.currentTime !== last && v.videoWidth > 0) {
          last = v.currentTime;
          if (fn(v)) break;
        }
        await sleep(1000 / 60);
      }
    } finally {
      v.pause(); v.srcObject = null;
    }
  }

  // eachAudioChunk calls fn({sampleRate, samples}) with the track's raw
  // samples (first channel) until fn returns true or ms pass: AudioData
  // where the browser has MediaStreamTrackProcessor, else Web Audio; where
  // an AudioContext cannot run (no audio output, as in a headless
  // browser), about wantMs of the track recorded and decoded offline.
  async function eachAudioChunk(track, ms, fn, wantMs = ms) {
    if (hasProcessor()) {
      return readUntil(track, ms, (data) => {
        const opts = { planeIndex: 0, format: 'f32-planar' };
        const samples = new Float32Array(data.allocationSize(opts) / 4);
        data.copyTo(samples, opts);
        return fn({ sampleRate: data.sampleRate, samples });
      });
    }
    const AC = window.AudioContext || window.webkitAudioContext;
    if (AC && await webAudioChunks(AC, track, ms, fn)) return;
    if (typeof MediaRecorder !== 'function' || typeof OfflineAudioContext !== 'function') {
      const e = new Error('neither MediaStreamTrackProcessor, a running AudioContext nor MediaRecorder is available in this browser');
      e.name = 'NotSupportedError';
      throw e;
    }
    await recordedChunks(track, Math.min(ms, wantMs), fn);
  }

  // webAudioChunks feeds fn from a ScriptProcessorNode (old but
  // everywhere; a muted gain keeps it pulling samples without playing
  // them). false: the context delivered nothing within a second.
  async function webAudioChunks(AC, track, ms, fn) {
    const ac = new AC();
    let started = false;
    try {
      const src = ac.createMediaStreamSource(new MediaStream([track]));
      const proc = ac.createScriptProcessor(1024, 1, 1);
      const mute = ac.createGain();
      mute.gain.value = 0;
      await new Promise((resolve) => {
        const t = setTimeout(resolve, ms);
        const silent = setTimeout(() => { if (!started) { clearTimeout(t); resolve(); } }, Math.min(ms, 1000));
        proc.onaudioprocess = (e) => {
          started = true;
          const samples = new Float32Array(e.inputBuffer.getChannelData(0));
          if (fn({ sampleRate: ac.sampleRate, samples })) { clearTimeout(t); clearTimeout(silent); resolve(); }
        };
        src.connect(proc); proc.connect(mute); mute.connect(ac.destination);
        ac.resume().catch(() => {});
      });
      proc.onaudioprocess = null;
      src.disconnect(); proc.disconnect();
    } finally {
      ac.close().catch(() => {});
    }
    return started;
  }

  // firstAudio is the time from t0 to the track's first audio, where
  // raw frames are not available: whichever of Web Audio and MediaRecorder
  // sees data first (an AudioContext may never run without an audio
  // output). null when neither does within ms.
  function firstAudio(track, ms, t0) {
    return new Promise((resolve) => {
      let done = false; let ac = null; let rec = null;
      const finish = (v) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (rec && rec.state !== 'inactive') rec.stop();
        if (ac) ac.close().catch(() => {});
        resolve(v);
      };
      const timer = setTimeout(() => finish(null), ms);
      const AC = window.AudioContext || window.webkitAudioContext;
      if (AC) {
        ac = new AC();
        const src = ac.createMediaStreamSource(new MediaStream([track]));
        const proc = ac.createScriptProcessor(256, 1, 1);
        const mute = ac.createGain();
        mute.gain.value = 0;
        proc.onaudioprocess = () => finish(now() - t0);
        src.connect(proc); proc.connect(mute); mute.connect(ac.destination);
        ac.resume().catch(() => {});
      }
      if (typeof MediaRecorder === 'function') {
        rec = new MediaRecorder(new MediaStream([track]));
        rec.ondataavailable = (e) => { if (e.data && e.data.size > 0) finish(now() - t0); };
        rec.start(20);
      }
    });
  }

  // recordedChunks records ms of the track, decodes it offline and feeds
  // fn 10 ms at a time.
  async function recordedChunks(track, ms, fn) {
    const rec = new MediaRecorder(new MediaStream([track]));
    const parts = [];
    rec.ondataavailable = (e) => { if (e.data && e.data.size > 0) parts.push(e.data); };
    const stopped = new Promise((resolve) => { rec.onstop = resolve; });
    rec.start();
    await sleep(Math.max(100, ms));
    rec.stop();
    await timeout(stopped, 3000, 'recording the microphone');
    if (parts.length === 0) return;
    const bytes = await new Blob(parts, { type: rec.mimeType }).arrayBuffer();
    const decoded = await withOp('decoding the recorded audio', new OfflineAudioContext(1, 1, 48000).decodeAudioData(bytes));
    const all = decoded.getChannelData(0);
    const step = Math.max(1, Math.round(decoded.sampleRate / 100));
    for (let i = 0; i < all.length; i += step) {
      if (fn({ sampleRate: decoded.sampleRate, samples: all.subarray(i, i + step) })) return;
    }
  }

  function settingsOf(track) {
    const s = track.getSettings();
    return {
      label: track.label,
      width: s.width, height: s.height, frameRate: s.frameRate,
      sampleRate: s.sampleRate, channelCount: s.channelCount,
    };
  }

  const checks = {};

  checks.api = async () => {
    const md = navigator.mediaDevices || {};
    const sender = typeof RTCRtpSender === 'function' ? RTCRtpSender : null;
    return {
      userAgent: navigator.userAgent,
      secureContext: window.isSecureContext,
      features: {
        peerconnection: typeof RTCPeerConnection === 'function',
        getusermedia: typeof md.getUserMedia === 'function',
        datachannel: typeof RTCDataChannel === 'function',
        enumeratedevices: typeof md.enumerateDevices === 'function',
        getdisplaymedia: typeof md.getDisplayMedia === 'function',
        getcapabilities: !!sender && typeof sender.getCapabilities === 'function',
        encoded_transforms: typeof RTCRtpScriptTransform === 'function' ||
          (!!sender && 'createEncodedStreams' in sender.prototype),
        getstats: typeof RTCPeerConnection === 'function' && 'getStats' in RTCPeerConnection.prototype,
        track_processor: typeof MediaStreamTrackProcessor === 'function',
      },
    };
  };

  checks.devices = async () => {
    const list = async () => (await withOp('enumerateDevices', navigator.mediaDevices.enumerateDevices()))
      .map((d) => ({ kind: d.kind, label: d.label }));
    let devices = await list();
    let permission = 'granted';
    // Labels are hidden until the page may capture: ask once, then look again.
    if (devices.some((d) => !d.label)) {
      try {
        stopAll(await gum({ audio: true, video: true }));
      } catch (e) {
        permission = e.name;
      }
      devices = await list();
    }
    const counts = { audioinput: 0, videoinput: 0, audiooutput: 0 };
    for (const d of devices) counts[d.kind] = (counts[d.kind] || 0) + 1;
    return { devices, counts, permission };
  };

  // getUserMedia opens one kind of device and times the first frame or
  // the first audio chunk.
  checks.getUserMedia = async ({ kind = 'video', constraints = true, waitMs = 3000 } = {}) => {
    const t0 = now();
    const stream = await gum({ [kind]: constraints });
    const gumMs = now() - t0;
    try {
      const track = stream.getTracks()[0];
      let firstMs = null;
      const first = () => { firstMs = now() - t0; return true; };
      if (kind === 'audio' && !hasProcessor()) firstMs = await firstAudio(track, waitMs, t0);
      else if (kind === 'audio') await eachAudioChunk(track, waitMs, first);
      else await eachVideoFrame(track, waitMs, first);
      return { kind, gumMs, firstMs, settings: settingsOf(track) };
    } finally {
      stopAll(stream);
    }
  };

  // resolutions asks for each size exactly, from the last camera when
  // spare is set: a camera of its own, which no other page holds at a size
  // of its choosing.
  checks.resolutions = async ({ sizes = [[320, 240], [640, 480], [1280, 720], [1920, 1080]], spare = false } = {}) => {
    const out = [];
    let camera;
    if (spare) {
      const cams = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput');
      camera = cams.length > 1 && cams[cams.length - 1].deviceId ? cams[cams.length - 1] : undefined;
    }
    const video = camera ? { deviceId: { exact: camera.deviceId } } : {};
    for (const [w, h] of sizes) {
      try {
        const stream = await gum({ video: { ...video, width: { exact: w }, height: { exact: h } } });
        const track = stream.getVideoTracks()[0];
        const s = track.getSettings();
        out.push({ width: w, height: h, ok: s.width === w && s.height === h, got: [s.width, s.height], camera: track.label });
        stopAll(stream);
      } catch (e) {
        out.push({ width: w, height: h, ok: false, error: e.name });
      }
    }
    return { sizes: out, spare: camera ? camera.label : undefined };
  };

  // videoQuality draws each frame small and records its mean luma and its
  // mean absolute difference from the previous frame (0-255 scale).
  checks.videoQuality = async ({ durationMs = 1500, constraints = { width: 640, height: 480 } } = {}) => {
    const stream = await gum({ video: constraints });
    try {
      const track = stream.getVideoTracks()[0];
      const W = 64; const H = 48;
      const canvas = typeof OffscreenCanvas === 'function' ? new OffscreenCanvas(W, H)
        : Object.assign(document.createElement('canvas'), { width: W, height: H });
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      const luma = []; const diff = [];
      let prev = null; let first = null; let last = null;
      await eachVideoFrame(track, durationMs, (frame) => {
        const t = now();
        if (first === null) first = t;
        last = t;
        ctx.drawImage(frame, 0, 0, W, H);
        const px = ctx.getImageData(0, 0, W, H).data;
        const y = new Float32Array(W * H);
        let sum = 0;
        for (let i = 0; i < W * H; i++) {
          y[i] = 0.299 * px[4 * i] + 0.587 * px[4 * i + 1] + 0.114 * px[4 * i + 2];
          sum += y[i];
        }
        luma.push(sum / (W * H));
        if (prev) {
          let d = 0;
          for (let i = 0; i < W * H; i++) d += Math.abs(y[i] - prev[i]);
          diff.push(d / (W * H));
        }
        prev = y;
        return false;
      });
      const spanMs = first === null ? 0 : last - first;
      return { frames: luma.length, spanMs, luma, diff, settings: settingsOf(track) };
    } finally {
      stopAll(stream);
    }
  };

  // audioQuality reads durationMs of raw samples (processing off, to hear
  // the device itself) and sums their energy, peaks and clipping per 10 ms
  // chunk. It counts samples, not wall time, so a starved machine measures
  // as much audio (within three times the duration).
  checks.audioQuality = async ({ durationMs = 1500, clipLevel = 0.999 } = {}) => {
    const stream = await gum({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    try {
      const track = stream.getAudioTracks()[0];
      let samples = 0; let sumSquares = 0; let peak = 0; let clipped = 0;
      const chunkRms = [];
      let sampleRate = 0;
      let frames = 0;
      await eachAudioChunk(track, 3 * durationMs, ({ sampleRate: rate, samples: buf }) => {
        sampleRate = rate;
        frames += buf.length;
        // 10 ms chunks, whatever size the browser delivers samples in.
        const step = Math.max(1, Math.round(rate / 100));
        for (let i = 0; i < buf.length; i += step) {
          let ss = 0; let n = 0;
          for (let j = i; j < Math.min(buf.length, i + step); j++, n++) {
            const x = buf[j];
            ss += x * x;
            const a = Math.abs(x);
            if (a > peak) peak = a;
            if (a >= clipLevel) clipped++;
          }
          sumSquares += ss;
          chunkRms.push(n ? Math.sqrt(ss / n) : 0);
        }
        samples += buf.length;
        return frames >= sampleRate * durationMs / 1000;
      }, durationMs + 100);
      return { samples, sumSquares, peak, clipped, chunkRms, sampleRate, settings: settingsOf(track) };
    } finally {
      stopAll(stream);
    }
  };

  checks.codecs = async () => {
    const caps = (cls, kind) => {
      const c = cls && cls.getCapabilities ? cls.getCapabilities(kind) : null;
      return c ? c.codecs.map((x) => ({ mimeType: x.mimeType, clockRate: x.clockRate, channels: x.channels, sdpFmtpLine: x.sdpFmtpLine })) : [];
    };
    return {
      sender: { audio: caps(window.RTCRtpSender, 'audio'), video: caps(window.RTCRtpSender, 'video') },
      receiver: { audio: caps(window.RTCRtpReceiver, 'audio'), video: caps(window.RTCRtpReceiver, 'video') },
    };
  };

  function parseCandidate(line) {
    // candidate:<foundation> <component> <protocol> <priority> <address> <port> typ <type> …
    const f = line.replace(/^a=/, '').split(' ');
    const c = { protocol: (f[2] || '').toLowerCase(), address: f[4], port: Number(f[5]), type: f[7] };
    const i = f.indexOf('tcptype');
    if (i > 0) c.tcpType = f[i + 1];
    return c;
  }

  function isLoopback(addr) {
    return /^127\./.test(addr) || addr === '::1' || addr === 'localhost';
  }

  // keepCandidate drops host and server-reflexive candidates on non-loopback
  // interfaces when the call is meant to stay on loopback; relay candidates
  // are kept (they lead to the configured TURN server).
  function keepCandidate(line, loopbackOnly) {
    if (!loopbackOnly) return true;
    const c = parseCandidate(line);
    return c.type === 'relay' || isLoopback(c.address);
  }

  function filterSDP(sdp, loopbackOnly) {
    return sdp.split('\r\n').filter((l) => !l.startsWith('a=candidate:') || keepCandidate(l, loopbackOnly)).join('\r\n');
  }

  function gatheringDone(pc, ms) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(true); }
      });
    });
  }

  // firstCandidate resolves with the first local candidate that passes
  // keep, or when gathering completes or the time is up.
  function firstCandidate(pc, keep, ms) {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      const done = () => { clearTimeout(t); resolve(); };
      pc.addEventListener('icecandidate', (e) => {
        if (!e.candidate || !e.candidate.candidate) done();
        else if (keep(e.candidate.candidate)) done();
      });
    });
  }

  function connected(pc, ms, what) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        const e = new Error(what + ': not connected after ' + ms + ' ms (state ' + pc.connectionState + ', ICE ' + pc.iceConnectionState + ')');
        e.name = 'TimeoutError';
        reject(e);
      }, ms);
      const check = () => {
        if (pc.connectionState === 'connected') { clearTimeout(t); resolve(); }
        if (pc.connectionState === 'failed') {
          clearTimeout(t);
          const e = new Error(what + ': ICE/DTLS failed');
          e.name = 'ConnectionFailedError';
          reject(e);
        }
      };
      pc.addEventListener('connectionstatechange', check);
      check();
    });
  }

  // ice gathers candidates with the given servers and reports every
  // candidate and every icecandidateerror.
  checks.ice = async ({ iceServers = [], timeoutMs = 3000 } = {}) => {
    const t0 = now();
    const pc = new RTCPeerConnection({ iceServers });
    const candidates = []; const errors = [];
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) {
        const c = parseCandidate(e.candidate.candidate);
        c.url = e.candidate.url || '';
        c.relayProtocol = e.candidate.relayProtocol || '';
        c.atMs = now() - t0;
        candidates.push(c);
      }
    };
    pc.onicecandidateerror = (e) => {
      errors.push({ url: e.url, errorCode: e.errorCode, errorText: e.errorText, atMs: now() - t0 });
    };
    try {
      pc.createDataChannel('probe');
      await pc.setLocalDescription(await pc.createOffer());
      const complete = await gatheringDone(pc, timeoutMs);
      return { candidates, errors, complete, gatherMs: now() - t0 };
    } finally {
      pc.close();
    }
  };

  async function statsList(pc) {
    const out = [];
    (await pc.getStats()).forEach((s) => out.push(s));
    return out;
  }

  function codecOf(all, rtp) {
    const c = rtp && all.find((s) => s.id === rtp.codecId);
    return c ? c.mimeType : '';
  }

  function selectedPair(all) {
    const t = all.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
    const pair = t ? all.find((s) => s.id === t.selectedCandidatePairId)
      : all.find((s) => s.type === 'candidate-pair' && (s.selected || (s.nominated && s.state === 'succeeded')));
    if (!pair) return null;
    const local = all.find((s) => s.id === pair.localCandidateId) || {};
    const remote = all.find((s) => s.id === pair.remoteCandidateId) || {};
    return {
      rttMs: pair.currentRoundTripTime !== undefined ? pair.currentRoundTripTime * 1000 : null,
      local: local.candidateType + ' ' + local.protocol + ' ' + local.address + ':' + local.port,
      remote: remote.candidateType + ' ' + remote.protocol + ' ' + remote.address + ':' + remote.port,
      localType: local.candidateType, remoteType: remote.candidateType,
    };
  }

  function mediaStats(all, kind) {
    const inb = all.find((s) => s.type === 'inbound-rtp' && s.kind === kind) || null;
    const out = all.find((s) => s.type === 'outbound-rtp' && s.kind === kind) || null;
    return {
      inbound: inb && {
        codec: codecOf(all, inb), packetsReceived: inb.packetsReceived, packetsLost: inb.packetsLost,
        bytesReceived: inb.bytesReceived, framesDecoded: inb.framesDecoded, framesPerSecond: inb.framesPerSecond,
        frameWidth: inb.frameWidth, frameHeight: inb.frameHeight, jitterMs: inb.jitter !== undefined ? inb.jitter * 1000 : null,
      },
      outbound: out && {
        codec: codecOf(all, out), packetsSent: out.packetsSent, bytesSent: out.bytesSent, framesEncoded: out.framesEncoded,
      },
    };
  }

  // loopback calls itself: two peer connections in this page, the camera
  // and mic on one side, and reads the receiving side's stats.
  checks.loopback = async ({ durationMs = 2000, loopbackOnly = true, iceServers = [], connectMs = 5000 } = {}) => {
    const t0 = now();
    const stream = await gum({ audio: true, video: { width: 640, height: 480 } });
    const a = new RTCPeerConnection({ iceServers });
    const b = new RTCPeerConnection({ iceServers });
    try {
      a.onicecandidate = (e) => { if (e.candidate && e.candidate.candidate && keepCandidate(e.candidate.candidate, loopbackOnly)) b.addIceCandidate(e.candidate).catch(() => {}); };
      b.onicecandidate = (e) => { if (e.candidate && e.candidate.candidate && keepCandidate(e.candidate.candidate, loopbackOnly)) a.addIceCandidate(e.candidate).catch(() => {}); };
      stream.getTracks().forEach((t) => a.addTrack(t, stream));
      await a.setLocalDescription(await a.createOffer());
      await b.setRemoteDescription(a.localDescription);
      await b.setLocalDescription(await b.createAnswer());
      await a.setRemoteDescription(b.localDescription);
      await connected(b, connectMs, 'loopback call');
      const connectedMs = now() - t0;
      const s0 = await statsList(b);
      const tStart = now();
      await sleep(durationMs);
      const s1 = await statsList(b);
      const span = (now() - tStart) / 1000;
      const v0 = mediaStats(s0, 'video').inbound || {};
      const v1 = mediaStats(s1, 'video').inbound || {};
      const a0 = mediaStats(s0, 'audio').inbound || {};
      const a1 = mediaStats(s1, 'audio').inbound || {};
      const sa = await statsList(a);
      return {
        connectedMs,
        video: mediaStats(s1, 'video').inbound,
        audio: mediaStats(s1, 'audio').inbound,
        videoKbps: ((v1.bytesReceived || 0) - (v0.bytesReceived || 0)) * 8 / 1000 / span,
        audioKbps: ((a1.bytesReceived || 0) - (a0.bytesReceived || 0)) * 8 / 1000 / span,
        fps: ((v1.framesDecoded || 0) - (v0.framesDecoded || 0)) / span,
        pair: selectedPair(sa),
      };
    } finally {
      a.close(); b.close(); stopAll(stream);
    }
  };

  // remoteRtt is the RTCP round trip the browser's remote-inbound-rtp
  // stats report (where the candidate pair has none, as in Firefox).
  function remoteRtt(all) {
    const r = all.find((s) => s.type === 'remote-inbound-rtp' && s.roundTripTime !== undefined);
    return r ? r.roundTripTime * 1000 : null;
  }

  function inboundTotals(all) {
    let bytes = 0; let frames = 0;
    for (const s of all) {
      if (s.type !== 'inbound-rtp') continue;
      bytes += s.bytesReceived || 0;
      if (s.kind === 'video') frames += s.framesDecoded || 0;
    }
    return { bytes, frames };
  }

  function opened(dc, ms) {
    if (dc.readyState === 'open') return Promise.resolve();
    return timeout(new Promise((resolve) => { dc.addEventListener('open', resolve); }), ms, 'data channel ' + dc.label);
  }

  // nextText resolves with the next text message on dc.
  function nextText(dc, ms) {
    return timeout(new Promise((resolve) => {
      const on = (e) => { if (typeof e.data === 'string') { dc.removeEventListener('message', on); resolve(e.data); } };
      dc.addEventListener('message', on);
    }), ms, 'data channel reply');
  }

  // bulk sends as much as fits in ms (at most bytes) up the bulk channel,
  // then asks the peer for the same down; the peer times the upload, the
  // page the download.
  async function bulk(dc, ms, bytes) {
    dc.binaryType = 'arraybuffer';
    await opened(dc, 3000);
    const chunk = new Uint8Array(16 << 10);
    const high = 1 << 20;
    dc.bufferedAmountLowThreshold = high / 2;
    const end = now() + ms;
    let sent = 0;
    while (now() < end && sent < bytes) {
      if (dc.bufferedAmount > high) {
        await Promise.race([new Promise((r) => dc.addEventListener('bufferedamountlow', r, { once: true })), sleep(Math.max(0, end - now()))]);
        continue;
      }
      dc.send(chunk);
      sent += chunk.length;
    }
    const upReply = nextText(dc, ms + 5000);
    dc.send('up-end');
    const up = JSON.parse(await upReply);
    let downBytes = 0; let first = null; let last = null;
    const onData = (e) => {
      if (typeof e.data !== 'string') {
        const t = now();
        if (first === null) first = t;
        last = t;
        downBytes += e.data.byteLength;
      }
    };
    dc.addEventListener('message', onData);
    const downEnd = nextText(dc, ms + 5000);
    dc.send('down ' + bytes + ' ' + ms);
    await downEnd;
    dc.removeEventListener('message', onData);
    return { upBytes: up.bytes, upMs: up.ms, downBytes, downMs: first === null ? 0 : (last - first) };
  }

  // interop calls a remote peer (rtcprobe's pion peer) through the
  // signaling URL: sends camera and mic, opens a data channel, times the
  // echo of each message, and reads what arrives back. With throughputMs
  // it also measures a bulk transfer up and down a second data channel.
  checks.interop = async ({ signalURL, signalHeaders = {}, iceServers = [], relayOnly = false, loopbackOnly = true,
    waitGathering = false, durationMs = 1500, messages = 10, connectMs = 5000, throughputMs = 0, throughputBytes = 0 } = {}) => {
    const t0 = now();
    // Capture starts in parallel with negotiation: the transceivers are
    // negotiated first and get their tracks when the devices are open.
    const streamP = gum({ audio: true, video: { width: 640, height: 480 } });
    streamP.catch(() => {});
    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: relayOnly ? 'relay' : 'all' });
    let stream = null;
    try {
      const audioTx = pc.addTransceiver('audio', { direction: 'sendrecv' });
      const videoTx = pc.addTransceiver('video', { direction: 'sendrecv' });
      const dc = pc.createDataChannel('echo');
      const bulkDC = throughputMs > 0 ? pc.createDataChannel('bulk') : null;
      // Signaling is not trickled. With all candidates on loopback the
      // offer goes out with the first loopback UDP host candidate; relay-only
      // and calls over a real network wait for gathering to complete
      // (bounded), because an offer sent at the first relay candidate left
      // about half of the calls stuck in "checking".
      const usable = relayOnly || waitGathering ? gatheringDone(pc, 3000)
        : firstCandidate(pc, (c) => keepCandidate(c, loopbackOnly) && parseCandidate(c).protocol === 'udp', 3000);
      await pc.setLocalDescription(await pc.createOffer());
      await usable;
      const gatheredMs = now() - t0;
      const offer = filterSDP(pc.localDescription.sdp, loopbackOnly);
      const headers = Object.assign({ 'Content-Type': 'application/sdp' }, signalHeaders);
      const resp = await withOp('signaling', timeout(fetch(signalURL, { method: 'POST', body: offer, headers }), 10000, 'signaling'));
      if (!resp.ok) {
        const e = new Error('signaling: HTTP ' + resp.status + ': ' + (await resp.text()).slice(0, 200));
        e.name = 'SignalingError';
        throw e;
      }
      await pc.setRemoteDescription({ type: 'answer', sdp: await resp.text() });
      const answeredMs = now() - t0;
      const conn = connected(pc, connectMs, 'call with the pion peer').then(() => now() - t0);
      conn.catch(() => {});
      stream = await streamP;
      const gumMs = now() - t0;
      await audioTx.sender.replaceTrack(stream.getAudioTracks()[0]);
      await videoTx.sender.replaceTrack(stream.getVideoTracks()[0]);
      const connectedMs = await conn;
      await opened(dc, connectMs);
      const openMs = now() - t0;

      // Echo messages one at a time, timing each round trip.
      const rtts = []; let echoed = 0;
      for (let i = 0; i < messages; i++) {
        const payload = 'ping ' + i + ' ' + now();
        const reply = new Promise((resolve) => { dc.onmessage = (e) => resolve(e.data); });
        const sent = now();
        dc.send(payload);
        const back = await Promise.race([reply, sleep(1000).then(() => null)]);
        if (back === null) break;
        if (back === payload) { echoed++; rtts.push(now() - sent); }
      }
      const s0 = await statsList(pc);
      const tStart = now();
      await sleep(durationMs);
      const all = await statsList(pc);
      const spanMs = now() - tStart;
      const a = inboundTotals(s0); const b = inboundTotals(all);
      const out = {
        gumMs, gatheredMs, answeredMs, connectedMs, openMs, messages, echoed, rttsMs: rtts,
        video: mediaStats(all, 'video'), audio: mediaStats(all, 'audio'),
        pair: selectedPair(all), remoteRttMs: remoteRtt(all),
        down: { spanMs, bytes: b.bytes - a.bytes, framesDecoded: b.frames - a.frames },
      };
      if (bulkDC) out.bulk = await bulk(bulkDC, throughputMs, throughputBytes);
      return out;
    } finally {
      pc.close(); stopAll(stream); streamP.then(stopAll, () => {});
    }
  };

  // ---- Calls between two ends, for the interop checks: one end offers
  // (through signalURL, as interop does), the other answers an offer it
  // fetches from offerURL and posts its answer to answerURL. rtcprobe's
  // page server relays between the two, so each end may be a browser or
  // rtcprobe's pion peer.

  // codecCaps lists a kind's capabilities that are this codec: by MIME
  // type, and for H.264 only constrained baseline (profile-level-id
  // 42e0xx) with packetization-mode 1.
  function codecCaps(cls, kind, mimeType) {
    const caps = cls && cls.getCapabilities ? cls.getCapabilities(kind) : null;
    if (!caps) return [];
    return caps.codecs.filter((c) => {
      if (c.mimeType.toLowerCase() !== mimeType.toLowerCase()) return false;
      if (mimeType.toLowerCase() !== 'video/h264') return true;
      const f = c.sdpFmtpLine || '';
      return /packetization-mode=1/.test(f) && /profile-level-id=42e0/i.test(f);
    });
  }

  // fetchText posts (or gets) within ms and returns the body; an HTTP
  // error is a SignalingError.
  async function fetchText(url, init, ms) {
    const resp = await withOp('signaling', timeout(fetch(url, init), ms, 'signaling'));
    const text = await resp.text();
    if (!resp.ok) {
      const e = new Error('signaling: HTTP ' + resp.status + ': ' + text.slice(0, 200));
      e.name = 'SignalingError';
      throw e;
    }
    return text;
  }

  // sdpCodec names the codec a description negotiated for its first
  // m-line of this kind ('' when the m-line was rejected or has none).
  function sdpCodec(sdp, kind) {
    const sections = sdp.split(/\r\nm=/).slice(1);
    const m = sections.find((s) => s.startsWith(kind + ' '));
    if (!m) return '';
    const head = m.split('\r\n')[0].split(' ');
    if (head[1] === '0') return '';
    const rtpmap = new RegExp('a=rtpmap:' + head[3] + ' ([^/\\r]+)/');
    const got = m.match(rtpmap);
    return got ? kind + '/' + got[1] : '';
  }

  // rtpStats is one side's view of a codec call: what it received and
  // decoded, and what it encoded and sent.
  function rtpStats(all, kind) {
    const inb = all.find((s) => s.type === 'inbound-rtp' && s.kind === kind);
    const out = all.find((s) => s.type === 'outbound-rtp' && s.kind === kind);
    const pick = (s, keys) => {
      if (!s) return null;
      const o = { codec: codecOf(all, s) };
      for (const k of keys) if (s[k] !== undefined) o[k] = s[k];
      return o;
    };
    return {
      inbound: pick(inb, ['packetsReceived', 'packetsLost', 'bytesReceived', 'framesReceived', 'framesDecoded', 'keyFramesDecoded',
        'framesDropped', 'frameWidth', 'frameHeight', 'decoderImplementation', 'pliCount', 'nackCount', 'firCount', 'freezeCount',
        'totalSamplesReceived', 'concealedSamples', 'silentConcealedSamples', 'concealmentEvents', 'jitter']),
      outbound: pick(out, ['packetsSent', 'bytesSent', 'framesEncoded', 'keyFramesEncoded', 'frameWidth', 'frameHeight',
        'encoderImplementation', 'qualityLimitationReason']),
    };
  }

  // codecCall makes a call that negotiates only one codec, media of that
  // kind only, each way the two ends can: the camera (320x240) or the
  // microphone goes out, and after durationMs of media the stats show
  // what came in and was decoded.
  checks.codecCall = async ({ role = 'offer', signalURL = '', offerURL = '', answerURL = '', kind = 'video', mimeType = 'video/VP8',
    send = true, receive = true, loopbackOnly = true, durationMs = 2000, connectMs = 8000 } = {}) => {
    const t0 = now();
    const sendCaps = codecCaps(window.RTCRtpSender, kind, mimeType);
    const recvCaps = codecCaps(window.RTCRtpReceiver, kind, mimeType);
    send = send && sendCaps.length > 0;
    receive = receive && recvCaps.length > 0;
    const result = { canSend: sendCaps.length > 0, canReceive: recvCaps.length > 0 };
    if (!send && !receive && role === 'offer') return Object.assign(result, { negotiated: '' });
    const direction = send && receive ? 'sendrecv' : send ? 'sendonly' : receive ? 'recvonly' : 'inactive';
    const streamP = send ? gum(kind === 'video' ? { video: { width: 320, height: 240, frameRate: 30 } } : { audio: true }) : Promise.resolve(null);
    streamP.catch(() => {});
    const pc = new RTCPeerConnection({ iceServers: [] });
    let stream = null;
    // Received audio is decoded only while something plays it out.
    const sink = kind === 'audio' ? document.createElement('audio') : null;
    pc.ontrack = (e) => {
      if (!sink) return;
      sink.srcObject = new MediaStream([e.track]);
      sink.play().catch(() => {});
    };
    const only = (tx) => {
      const prefs = [...recvCaps, ...sendCaps.filter((c) => !recvCaps.some((r) => r.sdpFmtpLine === c.sdpFmtpLine))];
      if (prefs.length && typeof tx.setCodecPreferences === 'function') tx.setCodecPreferences(prefs);
      tx.direction = direction;
    };
    const usable = () => firstCandidate(pc, (c) => keepCandidate(c, loopbackOnly) && parseCandidate(c).protocol === 'udp', 3000);
    try {
      let tx;
      if (role === 'offer') {
        tx = pc.addTransceiver(kind, { direction });
        only(tx);
        const gathered = usable();
        await pc.setLocalDescription(await pc.createOffer());
        await gathered;
        const answer = await fetchText(signalURL, { method: 'POST', body: filterSDP(pc.localDescription.sdp, loopbackOnly), headers: { 'Content-Type': 'application/sdp' } }, 25000);
        await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      } else {
        const offer = await fetchText(offerURL, { method: 'GET' }, 25000);
        await pc.setRemoteDescription({ type: 'offer', sdp: offer });
        tx = pc.getTransceivers().find((t) => t.receiver.track.kind === kind);
        if (!tx) throw Object.assign(new Error('the offer has no ' + kind), { name: 'SignalingError' });
        only(tx);
        const gathered = usable();
        await pc.setLocalDescription(await pc.createAnswer());
        await gathered;
        await fetchText(answerURL, { method: 'POST', body: filterSDP(pc.localDescription.sdp, loopbackOnly), headers: { 'Content-Type': 'application/sdp' } }, 5000);
      }
      result.negotiated = sdpCodec(pc.remoteDescription.sdp, kind) && sdpCodec(pc.localDescription.sdp, kind);
      result.direction = tx.currentDirection || '';
      if (!result.negotiated || result.direction === 'inactive') return result;
      stream = await streamP;
      if (stream) {
        const track = stream.getTracks()[0];
        if (kind === 'video') track.contentHint = 'motion';
        await tx.sender.replaceTrack(track);
        if (kind === 'video') {
          const p = tx.sender.getParameters();
          p.degradationPreference = 'maintain-resolution';
          (p.encodings || []).forEach((e) => { e.scaleResolutionDownBy = 1; });
          await tx.sender.setParameters(p).catch(() => {});
        }
      }
      await connected(pc, connectMs, 'codec call');
      result.connectedMs = now() - t0;
      await sleep(durationMs);
      Object.assign(result, rtpStats(await statsList(pc), kind));
      return result;
    } finally {
      if (sink) sink.srcObject = null;
      pc.close(); stopAll(stream); streamP.then(stopAll, () => {});
    }
  };

  // answerCall is the other end of interop's call when a browser answers
  // it: it fetches the offer, sends its camera and microphone back,
  // echoes every data channel message, and returns its stats as they were
  // last seen before the caller hung up (or after maxMs).
  checks.answerCall = async ({ offerURL, answerURL, iceServers = [], relayOnly = false, loopbackOnly = true, connectMs = 8000, maxMs = 20000 } = {}) => {
    const t0 = now();
    const streamP = gum({ audio: true, video: { width: 640, height: 480 } });
    streamP.catch(() => {});
    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: relayOnly ? 'relay' : 'all' });
    let stream = null; let echoed = 0; let last = null; let hungUp = false;
    try {
      pc.ondatachannel = (e) => {
        const dc = e.channel;
        dc.onmessage = (m) => { dc.send(m.data); echoed++; };
        dc.onclose = () => { hungUp = true; };
      };
      const offer = await fetchText(offerURL, { method: 'GET' }, 25000);
      await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      stream = await streamP;
      for (const tx of pc.getTransceivers()) {
        const track = stream.getTracks().find((t) => t.kind === tx.receiver.track.kind);
        if (track) { tx.direction = 'sendrecv'; await tx.sender.replaceTrack(track); }
      }
      const gathered = relayOnly ? gatheringDone(pc, 3000)
        : firstCandidate(pc, (c) => keepCandidate(c, loopbackOnly) && parseCandidate(c).protocol === 'udp', 3000);
      await pc.setLocalDescription(await pc.createAnswer());
      await gathered;
      await fetchText(answerURL, { method: 'POST', body: filterSDP(pc.localDescription.sdp, loopbackOnly), headers: { 'Content-Type': 'application/sdp' } }, 5000);
      await connected(pc, connectMs, 'call with the other browser');
      const connectedMs = now() - t0;
      const end = now() + maxMs;
      while (now() < end && !hungUp && pc.connectionState === 'connected') {
        try { last = await statsList(pc); } catch (_) { break; }
        await sleep(250);
      }
      const all = last || [];
      return { connectedMs, echoed, video: mediaStats(all, 'video'), audio: mediaStats(all, 'audio'), pair: selectedPair(all) };
    } finally {
      pc.close(); stopAll(stream); streamP.then(stopAll, () => {});
    }
  };

  async function run(name, arg) {
    const fn = checks[name];
    try {
      if (!fn) throw Object.assign(new Error('no such check: ' + name), { name: 'NotFoundError' });
      return { ok: true, result: await fn(arg || {}) };
    } catch (e) {
      const err = e instanceof Error || (e && e.name) ? e : new Error(String(e));
      console.error('rtcprobe: ' + name + ' failed: ' + err.name + ': ' + err.message);
      return { ok: false, error: { name: err.name || 'Error', message: err.message || '', constraint: err.constraint || '', op: err.op || '' } };
    }
  }

  return { run, checks };
})();
