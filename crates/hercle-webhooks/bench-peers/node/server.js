// The docs' Express sample (support article "Complete Guide to the HercleX API",
// section 5), as written. Only adaptations: PUBLIC_KEY_PEM read from the file in
// $PUBLIC_KEY_PATH instead of pasted, the listen() call on $PORT (the sample has
// none), and processWebhookAsync() taken from the same article's "Implement
// idempotency" best practice (the sample calls it but does not define it).
const express = require('express');
const crypto = require('crypto');
const app = express();
const PUBLIC_KEY_PEM = require('fs').readFileSync(process.env.PUBLIC_KEY_PATH, 'utf8');
// IMPORTANT: preserve the raw body before JSON parsing
app.use(express.json({
  verify: (req, res, buf) => {
    req.rawBody = buf.toString('utf8');
  },
}));
function verifyTimestamp(timestamp) {
  const ts = Number(timestamp);
  if (!Number.isFinite(ts)) return false;
  const diffMinutes = Math.abs((Date.now() / 1000 - ts) / 60);
  return diffMinutes <= 5;
}
function verifySignature(rawBody, signatureBase64, timestamp) {
  try {
    const message = `${timestamp}.${rawBody}`;
    const digest = crypto.createHash('sha256').update(message, 'utf8').digest();
    const verifier = crypto.createVerify('RSA-SHA256');
    verifier.update(digest);
    return verifier.verify(PUBLIC_KEY_PEM, signatureBase64, 'base64');
  } catch (e) {
    return false;
  }
}
app.post('/webhooks/hercle', (req, res) => {
  const signature = req.get('X-Webhook-Signature') || '';
  const timestamp = req.get('X-Webhook-Timestamp') || '';
  const webhookId = req.get('X-Webhook-Id') || '';
  if (!verifyTimestamp(timestamp)) {
    return res.status(400).json({ error: 'Timestamp invalid or expired' });
  }
  if (!verifySignature(req.rawBody, signature, timestamp)) {
    return res.status(400).json({ error: 'Invalid signature' });
  }
  // Log for debugging
  console.log(`Webhook received: ${req.body.EventType} [${webhookId}]`);
  // Respond with 200 IMMEDIATELY, then process asynchronously
  res.status(200).json({ success: true });
  const eventData = JSON.parse(req.body.Data);
  processWebhookAsync(req.body.EventType, eventData, req.body.EventId)
    .catch(console.error);
});
const processedEvents = new Set(); // use a database in production!
async function processWebhookAsync(eventType, data, eventId) {
  if (processedEvents.has(eventId)) {
    console.log('Event already processed:', eventId);
    return;
  }
  processedEvents.add(eventId);
  // Process the event...
}
const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  process.stderr.write(`READY 127.0.0.1:${server.address().port}\n`);
});
