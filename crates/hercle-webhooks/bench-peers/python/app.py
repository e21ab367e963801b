# The docs' Flask sample (support article "Complete Guide to the HercleX API",
# section 5), as written. Only adaptation: PUBLIC_KEY_PEM read from the file in
# $PUBLIC_KEY_PATH instead of pasted. Served by gunicorn (see run.sh).
import hashlib, os, time
from base64 import b64decode
from flask import Flask, request, jsonify
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
app = Flask(__name__)
PUBLIC_KEY_PEM = open(os.environ["PUBLIC_KEY_PATH"], "rb").read()
def verify_timestamp(ts_str):
    try:
        return abs(int(time.time()) - int(ts_str)) / 60 <= 5
    except:
        return False
def verify_signature(raw_body, sig_b64, timestamp):
    try:
        message = f"{timestamp}.{raw_body}".encode('utf-8')
        digest = hashlib.sha256(message).digest()
        pub_key = serialization.load_pem_public_key(PUBLIC_KEY_PEM)
        pub_key.verify(b64decode(sig_b64), digest, padding.PKCS1v15(), hashes.SHA256())
        return True
    except:
        return False
@app.route('/webhooks/hercle', methods=['POST'])
def handle_webhook():
    raw_body = request.get_data(as_text=True)
    payload = request.get_json()
    if not verify_timestamp(request.headers.get('X-Webhook-Timestamp', '')):
        return jsonify({'error': 'Expired timestamp'}), 400
    if not verify_signature(raw_body, request.headers.get('X-Webhook-Signature', ''), request.headers.get('X-Webhook-Timestamp', '')):
        return jsonify({'error': 'Invalid signature'}), 400
    return jsonify({'success': True}), 200
