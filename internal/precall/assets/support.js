// Runs first and in any browser (old syntax only): finds what the check
// needs and the browser lacks, so an outdated browser gets a clear message
// instead of a broken page. precall.js does nothing when something is
// missing.
(function () {
  'use strict';
  var missing = [];
  var md = navigator.mediaDevices;
  if (window.isSecureContext === false) missing.push('a secure connection (open the page over https)');
  if (typeof window.RTCPeerConnection !== 'function') missing.push('WebRTC (RTCPeerConnection)');
  if (!md || typeof md.getUserMedia !== 'function') missing.push('camera and microphone access (getUserMedia)');
  if (typeof window.RTCDataChannel !== 'function' && typeof window.RTCPeerConnection === 'function' &&
      !('createDataChannel' in window.RTCPeerConnection.prototype)) missing.push('data channels (RTCDataChannel)');
  if (typeof window.Promise !== 'function' || typeof window.fetch !== 'function') missing.push('a current JavaScript engine (Promise, fetch)');
  if (typeof window.AudioContext !== 'function' && typeof window.webkitAudioContext !== 'function' &&
      typeof window.MediaStreamTrackProcessor !== 'function') missing.push('audio processing (Web Audio)');
  window.rtcprobeMissing = missing;
  document.addEventListener('DOMContentLoaded', function () {
    if (missing.length === 0) {
      document.getElementById('start').disabled = false;
      return;
    }
    document.getElementById('missing').textContent = missing.join(', ');
    document.getElementById('unsupported').hidden = false;
    document.getElementById('intro').hidden = true;
    document.documentElement.setAttribute('data-precall', 'unsupported');
  });
}());
