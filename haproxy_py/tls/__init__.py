"""TLS: certificates (certs.py), SNI selection (sni.py), what a session's TLS layer tells the
sample fetches and the log (info.py), the ClientHello parser for routing TLS that is not
decrypted (clienthello.py), and the OpenSSL contexts built from the configuration (context.py).

Everything here but context.py is pure; context.py builds ``ssl.SSLContext`` objects (no socket,
no loop). The engine (engine/tls.py) drives the handshakes.
"""
